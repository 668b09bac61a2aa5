package redisledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// reasonInvalidOp rejects an op the server should never build (no hit id,
// an unknown kind, a conversion without an order key, an oversized id), as
// the embedded ledger does. It is not remembered. Rejecting it alone keeps
// one bad op from failing its whole batch.
const reasonInvalidOp = "invalid_op"

func validOp(op *storage.Op) bool { return op.Valid(maxIDLen) }

// maxScriptOps caps the ops of one apply.lua call: a script blocks Redis
// while it runs, so a batch of the applier is cut into calls of a few
// milliseconds each.
const maxScriptOps = 256

// Apply applies ops in order. The ops of one account go to apply.lua
// together, up to maxScriptOps per call, and all the calls in one pipeline
// (on a cluster, one per node, concurrently; the ops of one account share
// a node and keep their order). One call for many ops is what makes the
// ledger cheap: the script reads the account once and makes the writes no
// op reads (stats, hit ids, results) once per call. On NOSCRIPT (a
// restarted or flushed server) the script is loaded on every node and the
// calls that got it are sent again, in order: they all used the one
// script, so on each node either all of them ran or none did.
//
// An error means no result is known; it wraps storage.ErrUnavailable when
// the caller may retry the batch (ops already applied come back as
// duplicates).
func (l *Ledger) Apply(ctx context.Context, ops []storage.Op) ([]storage.Result, error) {
	if err := l.checkFirst(ctx); err != nil {
		return nil, err
	}
	results := make([]storage.Result, len(ops))
	if len(ops) == 0 {
		return results, nil
	}
	calls := l.scriptCalls(ops, results)
	cmds := make([]*redis.Cmd, len(calls))
	todo := make([]int, len(calls))
	for i := range todo {
		todo[i] = i
	}
	for attempt := 0; len(todo) > 0; attempt++ {
		if attempt > 0 {
			if err := l.apply.Load(ctx, l.c).Err(); err != nil {
				return nil, wrap("cannot load ledger script", err)
			}
		}
		_, err := l.c.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for _, i := range todo {
				cmds[i] = l.apply.EvalSha(ctx, pipe, []string{accountKey(calls[i].account)}, calls[i].args...)
			}
			return nil
		})
		if err == nil {
			break
		}
		missing := todo[:0]
		var failed error
		for _, i := range todo {
			switch e := cmds[i].Err(); {
			case e == nil:
			case redis.HasErrorPrefix(e, "NOSCRIPT") && attempt == 0:
				missing = append(missing, i)
			case failed == nil:
				failed = e
			}
		}
		if failed == nil && len(missing) == 0 {
			failed = err // the pipeline failed, though no command says so
		}
		if failed != nil {
			return nil, wrap(fmt.Sprintf("cannot apply batch of %d ops", len(ops)), failed)
		}
		todo = missing
	}
	for c, call := range calls {
		replies, _ := cmds[c].Val().([]any)
		if len(replies) > len(call.ops) {
			return nil, fmt.Errorf("cannot apply batch of %d ops: %d replies to a call of %d", len(ops), len(replies), len(call.ops))
		}
		for k, reply := range replies {
			i := call.ops[k]
			r, err := decodeResult(reply)
			if err != nil {
				return nil, fmt.Errorf("cannot decode result of op %d (hit %q): %w", i, ops[i].HitID, err)
			}
			completeConversion(&r, &ops[i])
			if r.Original != nil {
				completeConversion(r.Original, &ops[i])
			}
			results[i] = r
		}
		if len(replies) < len(call.ops) {
			return nil, fmt.Errorf("cannot apply batch of %d ops: %d replies to a call of %d", len(ops), len(replies), len(call.ops))
		}
	}
	return results, nil
}

// scriptCall is one apply.lua call: ops of one account, in order.
type scriptCall struct {
	account string
	ops     []int // indexes in the batch
	args    []any // ARGV: len(ops), then each op's argument count and arguments
}

// scriptCalls groups the valid ops by account, in order, into calls of at
// most maxScriptOps, and settles the invalid ones in results.
func (l *Ledger) scriptCalls(ops []storage.Op, results []storage.Result) []scriptCall {
	var calls []scriptCall
	open := map[string]int{} // account -> its call being filled
	for i := range ops {
		op := &ops[i]
		switch {
		case !validOp(op):
			results[i] = storage.Result{Status: storage.StatusRejected, Reason: reasonInvalidOp}
			continue
		case !keyable(op.Account):
			// PutAccount refuses such an id: the account cannot exist.
			results[i] = storage.Result{Status: storage.StatusRejected, Reason: storage.ReasonUnknownAccount}
			continue
		}
		c, ok := open[op.Account]
		if !ok || len(calls[c].ops) == maxScriptOps {
			c = len(calls)
			calls = append(calls, scriptCall{account: op.Account, args: []any{0}})
			open[op.Account] = c
		}
		call := &calls[c]
		call.ops = append(call.ops, i)
		at := len(call.args)
		call.args = argsOf(append(call.args, 0), op, l.ttl)
		call.args[at] = len(call.args) - at - 1 // the op's argument count
	}
	for c := range calls {
		calls[c].args[0] = len(calls[c].ops)
	}
	return calls
}

// argsOf appends the arguments of apply.lua for any op to args.
func argsOf(args []any, op *storage.Op, ttl string) []any {
	switch op.Kind {
	case storage.OpClick, storage.OpPostback:
		return s2sArgs(args, op, ttl)
	}
	return opArgs(args, op, ttl)
}

// opArgs is ARGV of apply.lua (<id>h is hx(<id>), see keys.go):
//
//	1 kind (c, r, l)   2 hit id   3 "<hit TTL s>:<result TTL s>"   4 time ns
//	5 email   6 email attendee id   7 its h   8 cookie   9 cookie attendee id h
//	10 order key   11 its h   12 window ns   13 has amount (1, 0)   14 amount micros   15 currency
//	16 order id   17 product id   18 product name   19 source
//	20 n webinars, (webinar, its h)..., n tags, tag h..., and for a lead its profile (JSON)
func opArgs(args []any, op *storage.Op, ttl string) []any {
	kind := "c"
	switch op.Kind {
	case storage.OpRegistration:
		kind = "r"
	case storage.OpLead:
		kind = "l"
	}
	var emailID, emailHex, cookieHex, keyHex string
	if op.AttendeeEmail != "" {
		emailID = attribution.EmailAttendeeID(op.AttendeeEmail)
		emailHex = hx(emailID)
	} else if op.CookieID == "" && op.AttendeeID != "" {
		emailID = op.AttendeeID // a replayed raw hit: the attendee, without its email
		emailHex = hx(emailID)
	}
	if op.CookieID != "" {
		cookieHex = hx(attribution.CookieAttendeeID(op.CookieID))
	}
	if op.Kind == storage.OpConversion {
		keyHex = hx(op.OrderKey)
	}
	hasAmount := "0"
	if op.HasAmount {
		hasAmount = "1"
	}
	window := "0" // no window, as attribution.Sight reads Window <= 0
	if op.OrderWindow > 0 {
		window = strconv.FormatInt(int64(op.OrderWindow), 10)
	}
	args = append(args, kind, op.HitID, ttl, strconv.FormatInt(op.Time.UnixNano(), 10),
		op.AttendeeEmail, emailID, emailHex, op.CookieID, cookieHex,
		op.OrderKey, keyHex, window, hasAmount,
		strconv.FormatInt(int64(op.Amount), 10), op.Currency,
		op.OrderID, op.ProductID, op.ProductName, op.Source,
		strconv.Itoa(len(op.Webinars)))
	for _, w := range op.Webinars {
		args = append(args, w, hx(w))
	}
	args = append(args, strconv.Itoa(len(op.Tags)))
	for _, t := range op.Tags {
		args = append(args, hx(t))
	}
	if op.Kind == storage.OpLead || len(op.Profile) > 0 {
		profile := op.Profile
		if profile == nil {
			// A lead with no field but its email (decoded from the log as
			// nil): the script reads an object, never null, which it
			// would fail on at every retry.
			profile = map[string]string{}
		}
		prof, _ := json.Marshal(profile) // a map of strings: cannot fail
		args = append(args, prof)
	}
	return args
}

// decodeResult decodes {status, reason, delta, attendee id, credited...},
// or {'error', message} for an op that failed in the script.
func decodeResult(v any) (storage.Result, error) {
	list, ok := v.([]any)
	if ok && len(list) == 2 && list[0] == "error" {
		return storage.Result{}, fmt.Errorf("%w: ledger script failed: %v", storage.ErrUnavailable, list[1])
	}
	if !ok || len(list) < 4 {
		return storage.Result{}, fmt.Errorf("unexpected reply %v", v)
	}
	s := make([]string, len(list))
	for i, e := range list {
		if s[i], ok = e.(string); !ok {
			return storage.Result{}, fmt.Errorf("unexpected reply %v", v)
		}
	}
	delta, err := strconv.ParseInt(s[2], 10, 64)
	if err != nil {
		return storage.Result{}, fmt.Errorf("bad delta %q", s[2])
	}
	r := storage.Result{Status: storage.Status(s[0]), Reason: s[1], Delta: attribution.Micros(delta), AttendeeID: s[3]}
	if len(s) == 9 && s[4] == convMarker {
		return r, decodeConversion(&r, s[5:])
	}
	if r.Reason == storage.ReasonReplayedHit {
		// A replay: the first application's reply, as JSON, if still kept.
		if len(s) > 4 {
			var orig []any
			if err := json.Unmarshal([]byte(s[4]), &orig); err == nil {
				if o, err := decodeResult(orig); err == nil && o.Reason != storage.ReasonReplayedHit {
					r.Original = &o
				}
			}
		}
		return r, nil
	}
	if len(s) > 4 {
		r.Credited = s[4:]
	}
	return r, nil
}
