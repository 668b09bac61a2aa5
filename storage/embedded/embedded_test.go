package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/embedded"
	"github.com/pixelpost/pixelpost/storage/ledgertest"
)

func TestConformance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	ledgertest.Run(t, func(t *testing.T) storage.Ledger {
		l, err := embedded.Open(path, embedded.Config{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return l
	})
}

var base = time.Date(2025, time.March, 10, 12, 0, 0, 0, time.UTC)

func open(t *testing.T, path string) *embedded.Ledger {
	t.Helper()
	l, err := embedded.Open(path, embedded.Config{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// newLedger opens a ledger in a fresh file with one account "acct"; it is
// closed at the end of the test.
func newLedger(t *testing.T) (*embedded.Ledger, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l := open(t, path)
	t.Cleanup(func() { l.Close() })
	if err := l.PutAccount(t.Context(), storage.Account{ID: "acct", DefaultCurrency: "USD"}); err != nil {
		t.Fatal(err)
	}
	return l, path
}

// logged places op at pos of hits log log.
func logged(op storage.Op, log string, pos uint64) storage.Op {
	op.Log, op.Pos = log, pos
	return op
}

func conv(hit, order string, at time.Time) storage.Op {
	return storage.Op{HitID: hit, Account: "acct", Kind: storage.OpConversion, Time: at,
		Webinars: []string{"w1"}, OrderKey: order, HasAmount: true, Amount: 10_000_000, Currency: "USD"}
}

func apply(t *testing.T, l storage.Ledger, ops ...storage.Op) []storage.Result {
	t.Helper()
	res, err := l.Apply(t.Context(), ops)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

func sales(t *testing.T, l storage.Ledger) int64 {
	t.Helper()
	s, err := l.WebinarStats(t.Context(), "acct", "w1")
	if err != nil {
		t.Fatal(err)
	}
	return s.Sales
}

func TestReopenAfterUncleanStop(t *testing.T) {
	l, path := newLedger(t)
	apply(t, l, logged(conv("h1", "o1", base), "L", 1), logged(conv("h2", "o2", base), "L", 2))

	// A copy of the file taken while the ledger is open is what a crash
	// leaves behind: the committed batches and no clean close.
	crashed := filepath.Join(t.TempDir(), "crashed.db")
	copyFile(t, path, crashed)
	c := open(t, crashed)
	if got := sales(t, c); got != 2 {
		t.Fatalf("sales after crash-like reopen = %d, want 2", got)
	}
	if r := apply(t, c, logged(conv("h1", "o1", base), "L", 1))[0]; r.Reason != storage.ReasonReplayedHit {
		t.Fatalf("replay after crash-like reopen: %+v", r)
	}
	apply(t, c, logged(conv("h3", "o3", base), "L", 3))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = open(t, crashed)
	defer c.Close()
	if got := sales(t, c); got != 3 {
		t.Fatalf("sales after second reopen = %d, want 3", got)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSecondOpenTimesOut(t *testing.T) {
	_, path := newLedger(t)
	start := time.Now()
	_, err := embedded.Open(path, embedded.Config{Timeout: 50 * time.Millisecond})
	if err == nil {
		t.Fatal("a second Open of a file in use succeeded")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("second Open took %v", time.Since(start))
	}
}

func TestClosedLedger(t *testing.T) {
	l, _ := newLedger(t)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := t.Context()
	check := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, embedded.ErrClosed) || !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("%s after Close: %v, want ErrClosed (ErrUnavailable)", name, err)
		}
	}
	_, err := l.Apply(ctx, []storage.Op{conv("h1", "o1", base)})
	check("Apply", err)
	_, err = l.Apply(ctx, nil)
	check("Apply(nil)", err)
	check("Ping", l.Ping(ctx))
	check("PutAccount", l.PutAccount(ctx, storage.Account{ID: "b"}))
	_, err = l.Account(ctx, "acct")
	check("Account", err)
	check("PutWebinar", l.PutWebinar(ctx, "acct", storage.Webinar{ID: "w"}))
	_, err = l.Webinars(ctx, "acct")
	check("Webinars", err)
	_, err = l.WebinarStats(ctx, "acct", "w1")
	check("WebinarStats", err)
	_, err = l.Attendee(ctx, "acct", "a@example.com")
	check("Attendee", err)
	_, err = l.Registrants(ctx, "acct", "w1")
	check("Registrants", err)
}

// Close while Applies are in flight: each either completes or reports
// ErrClosed; nothing panics.
func TestCloseDuringApply(t *testing.T) {
	l, _ := newLedger(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				_, err := l.Apply(context.Background(), []storage.Op{conv(fmt.Sprintf("g%d-%d", g, i), "o", base)})
				if err != nil && !errors.Is(err, embedded.ErrClosed) {
					t.Errorf("Apply: %v", err)
					return
				}
			}
		})
	}
	time.Sleep(time.Millisecond)
	if err := l.Close(); err != nil {
		t.Error(err)
	}
	wg.Wait()
}

func TestCanceledContext(t *testing.T) {
	l, _ := newLedger(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Apply(ctx, []storage.Op{conv("h1", "o1", base)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply with a canceled context: %v", err)
	}
	if _, err := l.WebinarStats(t.Context(), "acct", "w1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after a canceled Apply: WebinarStats: %v, want ErrNotFound", err)
	}
}

func TestInvalidOpRejectedAlone(t *testing.T) {
	l, _ := newLedger(t)
	bad := conv("", "o1", base)
	noKey := conv("h2", "", base)
	res := apply(t, l, bad, noKey, conv("h3", "o3", base))
	if res[0].Status != storage.StatusRejected || res[1].Status != storage.StatusRejected {
		t.Fatalf("invalid ops: %+v", res[:2])
	}
	if res[2].Status != storage.StatusAccepted {
		t.Fatalf("valid op in the same batch: %+v", res[2])
	}
}

// Many goroutines applying distinct and colliding ops at once (run with
// -race): every distinct order counts once.
func TestConcurrentApply(t *testing.T) {
	l, _ := newLedger(t)
	const goroutines, perG = 16, 40
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				// Each order is sighted by two goroutines with distinct hit ids,
				// and each hit is sent twice.
				order := fmt.Sprintf("o-%d-%d", g/2, i)
				op := conv(fmt.Sprintf("h-%d-%d", g, i), order, base)
				for range 2 {
					if _, err := l.Apply(context.Background(), []storage.Op{op}); err != nil {
						t.Error(err)
						return
					}
				}
				if _, err := l.Webinars(context.Background(), "acct"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got, want := sales(t, l), int64(goroutines/2*perG); got != want {
		t.Fatalf("sales = %d, want %d", got, want)
	}
}

func BenchmarkApply(b *testing.B) {
	for _, size := range []int{1, 64} {
		for _, sync := range []bool{true, false} {
			name := fmt.Sprintf("batch=%d/fsync=%v", size, sync)
			b.Run(name, func(b *testing.B) {
				l, err := embedded.Open(filepath.Join(b.TempDir(), "ledger.db"), embedded.Config{NoSync: !sync})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				ctx := context.Background()
				if err := l.PutAccount(ctx, storage.Account{ID: "acct", DefaultCurrency: "USD"}); err != nil {
					b.Fatal(err)
				}
				ops := make([]storage.Op, size)
				n := 0
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					for i := range ops {
						n++
						op := conv(fmt.Sprintf("hit-%d", n), fmt.Sprintf("order-%d", n%5000), base.Add(time.Duration(n)*time.Millisecond))
						op.AttendeeEmail = fmt.Sprintf("user%d@example.com", n%1000)
						ops[i] = op
					}
					if _, err := l.Apply(ctx, ops); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/op-in-batch")
			})
		}
	}
}

// An id too long for a bolt key rejects its op alone, not the whole batch.
func TestOversizedIDRejectedAlone(t *testing.T) {
	l, _ := newLedger(t)
	huge := conv("h1", "o1", base)
	huge.Webinars = []string{strings.Repeat("w", 40_000)}
	res := apply(t, l, huge, conv("h2", "o2", base))
	if res[0].Status != storage.StatusRejected || res[1].Status != storage.StatusAccepted {
		t.Fatalf("results: %+v", res)
	}
}

func clickOp(hit, id string, at time.Time, window time.Duration) storage.Op {
	return storage.Op{HitID: hit, Account: "acct", Kind: storage.OpClick, Time: at, ClickID: id,
		CampaignID: "camp", ClickTTL: window, Currency: "USD", Access: &storage.ClickAccess{PixelConversions: true}}
}

func postbackOp(hit, clickID string, at time.Time) storage.Op {
	return storage.Op{HitID: hit, Account: "acct", Kind: storage.OpPostback, Time: at, ClickID: clickID,
		ConvStatus: "approved", RawStatus: "1", HasAmount: true, Amount: 2_000_000, Currency: "USD"}
}

func wantResult(t *testing.T, what string, r storage.Result, status storage.Status, reason string) {
	t.Helper()
	if r.Status != status || r.Reason != reason {
		t.Errorf("%s: %s/%s, want %s/%s", what, r.Status, r.Reason, status, reason)
	}
}

// A click is dropped with its conversions once ops are more than a day
// past its window and storage.ClickGrace (op times, like hit ids); a click
// with a longer window stays, conversion and all.
func TestClicksDroppedAfterWindowAndGrace(t *testing.T) {
	l, _ := newLedger(t)
	apply(t, l, clickOp("c1", "short", base, 24*time.Hour), clickOp("c2", "long", base, 60*24*time.Hour))
	r := apply(t, l, postbackOp("p1", "short", base.Add(time.Hour)), postbackOp("p2", "long", base.Add(time.Hour)))
	wantResult(t, "first postbacks", r[0], storage.StatusAccepted, "")
	wantResult(t, "first postbacks", r[1], storage.StatusAccepted, "")

	// Within the day of slack: still known, and expired.
	later := base.Add(24*time.Hour + storage.ClickGrace + 24*time.Hour)
	apply(t, l, conv("h-later", "o1", later))
	wantResult(t, "late postback", apply(t, l, postbackOp("p3", "short", later))[0], storage.StatusRejected, storage.ReasonExpiredClick)

	// Two days past: dropped.
	much := base.Add(24*time.Hour + storage.ClickGrace + 3*24*time.Hour)
	apply(t, l, conv("h-much", "o2", much))
	wantResult(t, "postback after the drop", apply(t, l, postbackOp("p4", "short", much))[0], storage.StatusRejected, storage.ReasonUnknownClick)
	// Its conversion went with it: the click recorded again converts anew.
	apply(t, l, clickOp("c3", "short", much, 24*time.Hour))
	wantResult(t, "the id clicked again", apply(t, l, postbackOp("p5", "short", much))[0], storage.StatusAccepted, "")
	// The long window keeps its click and its conversion.
	wantResult(t, "long window", apply(t, l, postbackOp("p6", "long", much))[0], storage.StatusDuplicate, storage.ReasonSameConversion)
}

// A file written before clicks were dropped gets its clicks indexed when
// opened, and they are dropped like new ones.
func TestClicksIndexedOnUpgrade(t *testing.T) {
	l, path := newLedger(t)
	apply(t, l, clickOp("c1", "old", base, 24*time.Hour))
	l.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte("clickdays")); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Delete([]byte("clicks_indexed"))
	})
	db.Close()
	if err != nil {
		t.Fatalf("making an old file: %v", err)
	}
	l = open(t, path)
	defer l.Close()
	much := base.Add(24*time.Hour + storage.ClickGrace + 3*24*time.Hour)
	apply(t, l, conv("h-much", "o2", much))
	wantResult(t, "postback", apply(t, l, postbackOp("p1", "old", much))[0], storage.StatusRejected, storage.ReasonUnknownClick)
}

// Attendees reads page after page: every attendee once, whatever their
// number, and fn may read the ledger meanwhile.
func TestAttendeesPages(t *testing.T) {
	l, _ := newLedger(t)
	const n = 1203
	ops := make([]storage.Op, 0, n+1)
	for i := range n {
		ops = append(ops, storage.Op{HitID: fmt.Sprint("r", i), Account: "acct", Kind: storage.OpRegistration, Time: base,
			Webinars: []string{"w1"}, AttendeeEmail: fmt.Sprintf("p%d@example.com", i)})
	}
	ops = append(ops, storage.Op{HitID: "cookie", Account: "acct", Kind: storage.OpRegistration, Time: base,
		Webinars: []string{"w1"}, CookieID: "no-email"})
	apply(t, l, ops...)
	seen := map[string]bool{}
	err := l.Attendees(t.Context(), "acct", func(a storage.Attendee) error {
		if seen[a.Email] {
			t.Errorf("%s twice", a.Email)
		}
		seen[a.Email] = true
		_, err := l.Profile(t.Context(), "acct", a.ID) // the ledger is usable from fn
		return err
	})
	if err != nil || len(seen) != n {
		t.Errorf("Attendees: %d seen, %v; want %d", len(seen), err, n)
	}
}
