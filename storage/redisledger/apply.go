package redisledger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
)

// maxAttempts bounds how often the ops of an account are decided again
// after the records they read changed (another node wrote them, or the
// node's cache did not hold them): each attempt learns the records the
// last one found changed, so a cold cache settles in two or three. Many
// writers of one record at once take turns: after a few attempts each
// waits a random while (backoff), so that one of them gets through.
const maxAttempts = 64

// Apply applies ops in order. The rules are decide's: the ops of each
// account are decided by one decide.Txn reading the node's cache (view.go),
// and the writes it decides go to Redis in one commit.lua call per
// account, with the version of every record the decisions read. All the
// accounts' calls go in one pipeline (on a cluster, one per node). A call
// refused because a record changed writes nothing and returns the
// records' values: those accounts' ops are decided again and committed
// again, until they hold.
//
// An error means no result is known; it wraps storage.ErrUnavailable when
// the caller may retry the batch (ops already applied come back as
// duplicates: exactly once by log position, storage.Op.Log).
func (l *Ledger) Apply(ctx context.Context, ops []storage.Op) ([]storage.Result, error) {
	if err := l.checkFirst(ctx); err != nil {
		return nil, err
	}
	results := make([]storage.Result, len(ops))
	if len(ops) == 0 {
		return results, nil
	}
	var accounts []string
	byAccount := map[string][]int{}
	for i := range ops {
		op := &ops[i]
		switch {
		case !op.Valid(decide.MaxIDLen):
			results[i] = storage.Result{Status: storage.StatusRejected, Reason: decide.ReasonInvalidOp}
			continue
		case !keyable(op.Account):
			// PutAccount refuses such an id: the account cannot exist.
			results[i] = storage.Result{Status: storage.StatusRejected, Reason: storage.ReasonUnknownAccount}
			continue
		}
		if _, ok := byAccount[op.Account]; !ok {
			accounts = append(accounts, op.Account)
		}
		byAccount[op.Account] = append(byAccount[op.Account], i)
	}
	for attempt := 0; len(accounts) > 0; attempt++ {
		if attempt == maxAttempts {
			return nil, fmt.Errorf("cannot apply batch of %d ops: the records of %d accounts kept changing: %w",
				len(ops), len(accounts), storage.ErrUnavailable)
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, err
		}
		var calls []*call
		for _, account := range accounts {
			c, err := l.decideAccount(ctx, account, byAccount[account], ops, results)
			if err != nil {
				return nil, fmt.Errorf("cannot apply batch of %d ops: %w", len(ops), err)
			}
			if c != nil {
				calls = append(calls, c)
			}
		}
		if err := l.commit(ctx, calls); err != nil {
			return nil, fmt.Errorf("cannot apply batch of %d ops: %w", len(ops), err)
		}
		accounts = accounts[:0]
		for _, c := range calls {
			if c.stale {
				accounts = append(accounts, c.view.account)
			}
		}
	}
	return results, nil
}

// backoff waits before attempt (the first two go at once): up to 1 ms
// more per attempt, at random.
func backoff(ctx context.Context, attempt int) error {
	if attempt < 2 {
		return nil
	}
	t := time.NewTimer(time.Duration(rand.Int64N(int64(attempt) * int64(time.Millisecond))))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// call is one commit.lua call: the checks and writes of one account.
type call struct {
	view    *view
	learned *learned
	cmd     *redis.Cmd
	stale   bool // refused: decide again
}

// decideAccount decides the account's ops (results filled in) and returns
// the commit that makes them hold, nil when there is nothing to check or
// write.
func (l *Ledger) decideAccount(ctx context.Context, account string, idx []int, ops []storage.Op, results []storage.Result) (*call, error) {
	st, lg, err := l.state(ctx, account)
	if err != nil {
		return nil, err
	}
	v := l.newView(ctx, account, st, lg, len(idx))
	if st.exists {
		v.req.check(checkRef{key: sfxAccount, field: "ep", kind: kindExact}, "="+st.ep)
	}
	d := decide.NewSized(v, len(idx))
	for _, i := range idx {
		r, err := d.Apply(&ops[i])
		if err != nil {
			return nil, fmt.Errorf("op %d (hit %q): %w", i, ops[i].HitID, err)
		}
		results[i] = r
	}
	lr := v.writes(d.Changes())
	if v.req.empty() {
		return nil, nil
	}
	return &call{view: v, learned: lr}, nil
}

// commit sends the calls in one pipeline. On NOSCRIPT (a restarted or
// flushed server) the script is loaded and the calls that got it are sent
// again: they all used the one script, so on each node either all of them
// ran or none did. A refused call is marked stale after its values were
// learned; a written one teaches the cache what it wrote.
func (l *Ledger) commit(ctx context.Context, calls []*call) error {
	if len(calls) == 0 {
		return nil
	}
	todo := make([]*call, len(calls))
	copy(todo, calls)
	for attempt := 0; len(todo) > 0; attempt++ {
		if attempt > 0 {
			if err := l.commitScript.Load(ctx, l.c).Err(); err != nil {
				return wrap("cannot load ledger script", err)
			}
		}
		_, err := l.c.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for _, c := range todo {
				c.cmd = l.commitScript.EvalSha(ctx, pipe, []string{accountKey(c.view.account)}, c.view.req.bytes())
			}
			return nil
		})
		if err == nil {
			break
		}
		missing := todo[:0]
		var failed error
		for _, c := range todo {
			switch e := c.cmd.Err(); {
			case e == nil:
			case redis.HasErrorPrefix(e, "NOSCRIPT") && attempt == 0:
				missing = append(missing, c)
			case failed == nil:
				failed = e
			}
		}
		if failed == nil && len(missing) == 0 {
			failed = err // the pipeline failed, though no command says so
		}
		if failed != nil {
			return wrap("cannot commit", failed)
		}
		todo = missing
	}
	for _, c := range calls {
		reply, err := c.cmd.Slice()
		if err != nil || len(reply) == 0 {
			return fmt.Errorf("unexpected reply %v of the commit of %s: %v", reply, c.view.account, err)
		}
		if ok, _ := reply[0].(int64); ok == 1 {
			l.learn(c)
			continue
		}
		c.stale = true
		if err := l.learnStale(c.view, reply[1:]); err != nil {
			return err
		}
	}
	return nil
}

// learn teaches the node what a written commit read and wrote.
func (l *Ledger) learn(c *call) {
	v, lr := c.view, c.learned
	l.cache.putAll(v.missed, v.checked, lr.puts)
	if lr.epMoved {
		l.states.drop(v.account)
	} else {
		for ck, id := range v.clickIDs {
			l.cache.put(clickCacheKey(v.account, v.st.ep, id), v.checked[ck])
		}
		for id, raw := range lr.clicks {
			l.cache.put(clickCacheKey(v.account, v.st.ep, id), raw)
		}
		st := v.st
		st.mu.Lock()
		for _, w := range lr.listed {
			st.listed[w] = true
		}
		st.mu.Unlock()
	}
	lg := v.lg
	lg.mu.Lock()
	for log, bs := range lr.added {
		lg.blobs[log] = append(lg.blobs[log], bs...)
	}
	if len(lr.removed) > 0 {
		for log, bs := range lg.blobs {
			left := bs[:0]
			for _, b := range bs {
				if !lr.removed[b.field] {
					left = append(left, b)
				}
			}
			lg.blobs[log] = left
		}
	}
	lg.mu.Unlock()
}

// learnStale takes in the values a refused commit found: {check number,
// value, ...}.
func (l *Ledger) learnStale(v *view, stale []any) error {
	for i := 0; i+1 < len(stale); i += 2 {
		n, _ := stale[i].(int64)
		val, _ := stale[i+1].(string)
		if n < 1 || int(n) > len(v.req.refs) {
			return fmt.Errorf("bad reply of the commit of %s: check %d of %d", v.account, n, len(v.req.refs))
		}
		ref := v.req.refs[n-1]
		ck := cacheKey(v.account, ref.key, ref.field)
		switch {
		case ref.key == sfxAccount:
			l.states.drop(v.account) // the epoch moved
		case v.clickIDs[ck] != "":
			l.cache.put(clickCacheKey(v.account, v.st.ep, v.clickIDs[ck]), val)
		default:
			l.cache.put(ck, val)
		}
	}
	return nil
}
