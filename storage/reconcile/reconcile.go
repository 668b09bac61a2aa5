// Package reconcile proves the ledger against the raw hits, and restores it
// (SPEC §2.11). Redis is fast, not the record: with AOF everysec a crash can
// lose its last second of writes. The ledger is a deterministic fold of the
// decided hits in hit order, so reconcile folds them again into a scratch
// embedded ledger, compares every webinar's totals and every attendee's
// lifetime value with the live ledger, and with Repair re-applies the hits
// to the live ledger at their places in their hits logs (storage.Hit.Log,
// Pos): those it still has come back as replayed duplicates (its mark for
// each log was written with their effects, and lost with them), those it
// lost are applied again, in order.
package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/embedded"
)

// Source calls fn with every decided hit, in hit order (the order the
// ledger applied them). The rows log of the WAL and ClickHouse are sources.
type Source func(ctx context.Context, fn func(h *storage.Hit) error) error

// Options of a Run.
type Options struct {
	// Repair re-applies the hits to the live ledger, then compares again.
	Repair bool
	// ScratchDir holds the scratch ledger (removed afterwards); "" = the
	// system's temporary directory.
	ScratchDir string
	// Now bounds what Repair may replay of rows written by earlier builds
	// (without a hits-log place): hits older than those builds' memory of
	// hit ids (storage.HitRetention, less a day of margin) would be
	// applied twice, so they are not replayed. nil: time.Now.
	Now func() time.Time
}

// Difference is one total on which the live ledger and the fold disagree.
type Difference struct {
	Account string `json:"account"`
	Object  string `json:"object"` // "webinar <id>" or "attendee <id>"
	Field   string `json:"field"`
	Live    string `json:"live"`
	Rebuilt string `json:"rebuilt"`
}

func (d Difference) String() string {
	return fmt.Sprintf("%s %s %s: live %s, rebuilt from raw hits %s", d.Account, d.Object, d.Field, d.Live, d.Rebuilt)
}

// Report is what a Run found (and fixed).
type Report struct {
	Hits        int          `json:"hits"`     // decided hits folded
	Accounts    int          `json:"accounts"` // accounts seen
	Differences []Difference `json:"differences"`
	// After Repair: how many hits the live ledger had lost and took again,
	// how many were too old to replay, and what still differs.
	Reapplied int          `json:"reapplied,omitempty"`
	TooOld    int          `json:"too_old,omitempty"`
	Remaining []Difference `json:"remaining,omitempty"`
	Repaired  bool         `json:"repaired"`
}

const batch = 512

// Run folds src, compares with live and, with opts.Repair, repairs live.
func Run(ctx context.Context, src Source, live storage.Ledger, opts Options) (Report, error) {
	dir, err := os.MkdirTemp(opts.ScratchDir, "pixelpost-reconcile-")
	if err != nil {
		return Report{}, fmt.Errorf("cannot create scratch dir: %w", err)
	}
	defer os.RemoveAll(dir)
	scratch, err := embedded.Open(filepath.Join(dir, "fold.db"), embedded.Config{})
	if err != nil {
		return Report{}, fmt.Errorf("cannot open scratch ledger: %w", err)
	}
	defer scratch.Close()

	f := folder{live: live, into: scratch, seen: make(map[string]*seen)}
	if err := f.fold(ctx, src, scratch, false); err != nil {
		return Report{}, err
	}
	rep := Report{Hits: f.hits, Accounts: len(f.seen)}
	if rep.Differences, err = f.compare(ctx); err != nil {
		return rep, err
	}
	if !opts.Repair || len(rep.Differences) == 0 {
		return rep, nil
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	f.oldest = now().Add(-storage.HitRetention + 24*time.Hour)
	if err := f.fold(ctx, src, live, true); err != nil {
		return rep, fmt.Errorf("repair stopped: %w", err)
	}
	rep.Reapplied, rep.TooOld, rep.Repaired = f.reapplied, f.tooOld, true
	rep.Remaining, err = f.compare(ctx)
	return rep, err
}

// seen is what the fold met of one account.
type seen struct {
	webinars  map[string]bool
	attendees map[string]bool
}

type folder struct {
	live, into storage.Ledger
	seen       map[string]*seen
	hits       int
	oldest     time.Time // repair: hits before this are not replayed
	reapplied  int
	tooOld     int
	marks      map[string]map[string]uint64 // repair: the live ledger's, by account
}

// fold applies the replay op of every decided hit to dst in batches.
// Rejected hits changed nothing and are skipped.
func (f *folder) fold(ctx context.Context, src Source, dst storage.Ledger, repair bool) error {
	ops := make([]storage.Op, 0, batch)
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		res, err := dst.Apply(ctx, ops)
		if err != nil {
			return fmt.Errorf("cannot apply %d hits: %w", len(ops), err)
		}
		if repair {
			for _, r := range res {
				if !(r.Status == storage.StatusDuplicate && r.Reason == storage.ReasonReplayedHit) {
					f.reapplied++
				}
			}
		}
		ops = ops[:0]
		return nil
	}
	var tail lostTail
	err := src(ctx, func(h *storage.Hit) error {
		if h.Pending() || h.Status == storage.StatusRejected || h.Status == storage.StatusQueued {
			return nil
		}
		op := h.ReplayOp()
		switch {
		case !repair:
			// The scratch ledger takes every hit once, in hit order.
			op.Log, op.Pos = "", 0
		case op.Log == "":
			// A row of an earlier build, which knew hits by id, not by
			// their place in a log: the ledger looks its id up where that
			// build remembered it, for as long as it did.
			if h.Time.Before(f.oldest) {
				f.tooOld++
				return nil
			}
			op.CheckHitID = true
		default:
			// The live ledger has every hit of a log up to its mark; those
			// past it were lost with it, and go back in in their log's
			// order (hit order can differ by a few milliseconds).
			lost, err := f.pastMark(ctx, &op)
			if err != nil || !lost {
				return err
			}
			tail.add(op)
			return nil
		}
		if !repair {
			f.hits++
			if err := f.account(ctx, h.Account); err != nil {
				return err
			}
			s := f.seen[h.Account]
			for _, w := range h.Credited {
				s.webinars[w] = true
			}
			if h.AttendeeID != "" {
				s.attendees[h.AttendeeID] = true
			}
		}
		ops = append(ops, op)
		if len(ops) == batch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, op := range tail.ordered() {
		ops = append(ops, op)
		if len(ops) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// pastMark reports whether the live ledger lacks op, past its mark for
// op's log. A ledger that cannot tell (no storage.MarkReader) is given
// every op, in hit order, and answers replays itself.
func (f *folder) pastMark(ctx context.Context, op *storage.Op) (bool, error) {
	mr, ok := f.live.(storage.MarkReader)
	if !ok {
		return true, nil
	}
	marks, ok := f.marks[op.Account]
	if !ok {
		var err error
		if marks, err = mr.Marks(ctx, op.Account); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return false, fmt.Errorf("cannot read marks of %s: %w", op.Account, err)
		}
		if f.marks == nil {
			f.marks = map[string]map[string]uint64{}
		}
		f.marks[op.Account] = marks
	}
	return op.Pos > marks[op.Log], nil
}

// lostTail gathers the hits the live ledger lost (the last writes before
// a failure: a second or so of each node's log), to put them back in
// their logs' order.
type lostTail struct{ ops []storage.Op }

func (t *lostTail) add(op storage.Op) { t.ops = append(t.ops, op) }

// ordered is the hits in hit order, except that each log's take its
// places in that order by position: the order the ledger applied them.
func (t *lostTail) ordered() []storage.Op {
	ops := t.ops
	slices.SortStableFunc(ops, func(a, b storage.Op) int { return a.Time.Compare(b.Time) })
	byLog := map[string][]storage.Op{}
	for _, op := range ops {
		byLog[op.Log] = append(byLog[op.Log], op)
	}
	for _, l := range byLog {
		slices.SortStableFunc(l, func(a, b storage.Op) int { return cmp.Compare(a.Pos, b.Pos) })
	}
	out := make([]storage.Op, 0, len(ops))
	next := map[string]int{}
	for _, op := range ops {
		out = append(out, byLog[op.Log][next[op.Log]])
		next[op.Log]++
	}
	return out
}

// account copies an account from the live ledger into the scratch one the
// first time the fold meets it.
func (f *folder) account(ctx context.Context, id string) error {
	if f.seen[id] != nil {
		return nil
	}
	a, err := f.live.Account(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		a = storage.Account{ID: id, Name: id, DefaultCurrency: "USD"}
	} else if err != nil {
		return fmt.Errorf("cannot read account %s: %w", id, err)
	}
	if err := f.into.PutAccount(ctx, a); err != nil {
		return err
	}
	f.seen[id] = &seen{webinars: map[string]bool{}, attendees: map[string]bool{}}
	return nil
}

// compare lists every total that differs, accounts and objects sorted.
func (f *folder) compare(ctx context.Context) ([]Difference, error) {
	var out []Difference
	for _, acct := range slices.Sorted(maps.Keys(f.seen)) {
		s := f.seen[acct]
		ws, err := f.live.Webinars(ctx, acct)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		for _, w := range ws {
			s.webinars[w.ID] = true
		}
		for _, w := range slices.Sorted(maps.Keys(s.webinars)) {
			live, err := stats(ctx, f.live, acct, w)
			if err != nil {
				return nil, err
			}
			rebuilt, err := stats(ctx, f.into, acct, w)
			if err != nil {
				return nil, err
			}
			out = append(out, diff(acct, "webinar "+w, live, rebuilt)...)
		}
		for _, id := range slices.Sorted(maps.Keys(s.attendees)) {
			live, err := attendee(ctx, f.live, acct, id)
			if err != nil {
				return nil, err
			}
			rebuilt, err := attendee(ctx, f.into, acct, id)
			if err != nil {
				return nil, err
			}
			out = append(out, diff(acct, "attendee "+id, live, rebuilt)...)
		}
	}
	return out, nil
}

// totals are the figures compared, by field name.
type totals map[string]string

func stats(ctx context.Context, l storage.Ledger, acct, w string) (totals, error) {
	st, err := l.WebinarStats(ctx, acct, w)
	if errors.Is(err, storage.ErrNotFound) {
		return totals{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read webinar %s of %s: %w", w, acct, err)
	}
	t := totals{"registrants": fmt.Sprint(st.Registrants), "converted": fmt.Sprint(st.Converted),
		"converted_registrants": fmt.Sprint(st.ConvertedRegistrants), "sales": fmt.Sprint(st.Sales)}
	for cur, v := range st.Revenue {
		t["revenue "+cur] = fmt.Sprint(int64(v))
	}
	return t, nil
}

func attendee(ctx context.Context, l storage.Ledger, acct, id string) (totals, error) {
	a, err := l.AttendeeByID(ctx, acct, id)
	if errors.Is(err, storage.ErrNotFound) {
		return totals{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read attendee %s of %s: %w", id, acct, err)
	}
	t := totals{"orders": fmt.Sprint(a.Orders)}
	for cur, v := range a.LTV {
		t["ltv "+cur] = fmt.Sprint(int64(v))
	}
	return t, nil
}

// diff compares two totals; a missing figure reads as 0.
func diff(acct, object string, live, rebuilt totals) []Difference {
	var out []Difference
	keys := maps.Keys(live)
	all := map[string]bool{}
	for k := range keys {
		all[k] = true
	}
	for k := range rebuilt {
		all[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(all)) {
		l, r := or0(live[k]), or0(rebuilt[k])
		if l != r {
			out = append(out, Difference{Account: acct, Object: object, Field: k, Live: l, Rebuilt: r})
		}
	}
	return out
}

func or0(s string) string {
	if s == "" {
		return "0"
	}
	return s
}
