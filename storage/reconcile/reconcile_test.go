package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/embedded"
	"github.com/pixelpost/pixelpost/storage/pipeline"
	"github.com/pixelpost/pixelpost/storage/redisledger"
)

// t0 is pinned: the fold must give the same totals whatever the hour.
var t0 = testenv.PinnedNow

// hits is a realistic mix for one account: sales, refreshes that replace
// the amount, recurring charges without a webinar, registrations, a
// currency mismatch.
func hits(acct string, from, n int) []*storage.Hit {
	var out []*storage.Hit
	for i := from; i < from+n; i++ {
		email := fmt.Sprintf("a%d@example.com", i%9)
		at := t0.Add(time.Duration(i) * time.Second)
		id := func(s string) string { return fmt.Sprintf("%s-%06d-%s", acct, i, s) }
		out = append(out,
			&storage.Hit{ID: id("reg"), Time: at, Account: acct, Kind: storage.KindRegistration,
				Webinars: []string{fmt.Sprint("w", i%3)}, Email: email, Source: "pixel"},
			&storage.Hit{ID: id("sale"), Time: at, Account: acct, Kind: storage.KindPixel,
				Webinars: []string{fmt.Sprint("w", i%3)}, OrderID: fmt.Sprint("o", i), OrderKey: fmt.Sprint("o:o", i),
				HasAmount: true, Amount: attribution.Micros(1000000 + i*10000), Currency: "USD", Email: email, Source: "pixel"},
			&storage.Hit{ID: id("refresh"), Time: at.Add(time.Millisecond), Account: acct, Kind: storage.KindPixel,
				Webinars: []string{fmt.Sprint("w", i%3)}, OrderID: fmt.Sprint("o", i), OrderKey: fmt.Sprint("o:o", i),
				HasAmount: true, Amount: attribution.Micros(2000000 + i*10000), Currency: "USD", Email: email, Source: "pixel"},
			&storage.Hit{ID: id("renewal"), Time: at.Add(2 * time.Millisecond), Account: acct, Kind: storage.KindPixel,
				OrderID: fmt.Sprint("r", i), OrderKey: fmt.Sprint("o:r", i),
				HasAmount: true, Amount: 4990000, Currency: "USD", Email: email, Source: "backend"},
			&storage.Hit{ID: id("mismatch"), Time: at.Add(3 * time.Millisecond), Account: acct, Kind: storage.KindPixel,
				OrderID: fmt.Sprint("r", i), OrderKey: fmt.Sprint("o:r", i),
				HasAmount: true, Amount: 1000000, Currency: "EUR", Email: email, Source: "backend"},
		)
	}
	return out
}

// feed records hits through a pipeline on l and waits until applied.
func feed(t *testing.T, p *pipeline.Pipeline, hs []*storage.Hit) {
	t.Helper()
	for _, h := range hs {
		if err := p.Record(h); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Sync(ctx); err != nil {
		t.Fatalf("hits not applied: %v", err)
	}
}

func runPipeline(t *testing.T, dir string, l storage.Ledger) (*pipeline.Pipeline, func()) {
	t.Helper()
	p, err := pipeline.Open(pipeline.Config{Dir: dir}, pipeline.Deps{Ledger: l, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx, time.Second); close(done) }()
	return p, func() { cancel(); <-done; p.Close() }
}

func TestEmbeddedLedgerMatchesItsRawHits(t *testing.T) {
	l, err := embedded.Open(filepath.Join(t.TempDir(), "ledger.db"), embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if err := l.PutAccount(ctx, storage.Account{ID: "acme", Name: "Acme", DefaultCurrency: "USD"}); err != nil {
		t.Fatal(err)
	}
	p, stop := runPipeline(t, t.TempDir(), l)
	defer stop()
	feed(t, p, hits("acme", 0, 60))
	rep, err := Run(ctx, FromWAL(p.Rows(), nil), l, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Hits != 60*4 || len(rep.Differences) != 0 {
		t.Fatalf("report %+v; want 240 folded hits (the mismatches skipped) and no difference", rep)
	}
}

// privateRedis runs a redis-server of the test's own, with RDB snapshots
// only (no AOF): a kill -9 loses every write after the last SAVE, as a
// crash of a Redis with AOF everysec loses its last second.
type privateRedis struct {
	t    *testing.T
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
}

func (r *privateRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--appendonly", "no", "--dbfilename", "dump.rdb", "--maxmemory-policy", "noeviction")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.addr()})
	defer c.Close()
	for i := 0; c.Ping(context.Background()).Err() != nil; i++ {
		if i > 200 {
			r.t.Fatal("private redis did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *privateRedis) addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

func (r *privateRedis) kill9() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

func TestRepairRestoresTotalsAfterRedisLostItsLastWrites(t *testing.T) {
	r := &privateRedis{t: t, bin: testenv.Binary(t, "redis-server"), dir: t.TempDir(), port: testenv.FreePort(t)}
	r.start()
	defer r.kill9()
	l, err := redisledger.OpenURL("redis://" + r.addr() + "/0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if err := l.PutAccount(ctx, storage.Account{ID: "acme", Name: "Acme", DefaultCurrency: "USD"}); err != nil {
		t.Fatal(err)
	}
	p, stop := runPipeline(t, t.TempDir(), l)
	defer stop()

	feed(t, p, hits("acme", 0, 40))
	c := redis.NewClient(&redis.Options{Addr: r.addr()})
	if err := c.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	feed(t, p, hits("acme", 40, 30)) // applied, then lost
	before, err := l.WebinarStats(ctx, "acme", "w1")
	if err != nil {
		t.Fatal(err)
	}
	r.kill9()
	r.start()

	after, err := l.WebinarStats(ctx, "acme", "w1")
	if err != nil {
		t.Fatal(err)
	}
	if after.Sales >= before.Sales {
		t.Fatalf("the restart lost nothing (sales %d, then %d): the test proves nothing", before.Sales, after.Sales)
	}
	rep, err := Run(ctx, FromWAL(p.Rows(), nil), l, Options{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) == 0 || !rep.Repaired || len(rep.Remaining) != 0 {
		t.Fatalf("report %+v: want differences found, repaired, none remaining", rep)
	}
	for _, d := range rep.Differences[:min(3, len(rep.Differences))] {
		t.Log(d)
	}
	// 30 lost hits per kind that changes state: registration, sale, refresh, renewal.
	if rep.Reapplied != 30*4 {
		t.Errorf("reapplied %d hits, want 120", rep.Reapplied)
	}
	got, err := l.WebinarStats(ctx, "acme", "w1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Sales != before.Sales || got.Registrants != before.Registrants || got.Revenue["USD"] != before.Revenue["USD"] {
		t.Fatalf("after repair %+v, want the totals before the crash %+v", got, before)
	}
	// A second run finds nothing to do.
	rep, err = Run(ctx, FromWAL(p.Rows(), nil), l, Options{Repair: true})
	if err != nil || len(rep.Differences) != 0 {
		t.Fatalf("second run: %+v, %v", rep, err)
	}
}

// Rows come in hit order (time, then id), which is not quite the order of
// their hits log (two requests of one millisecond are logged in either
// order). The fold counts every row, and the repair puts the hits the live
// ledger lost back in their log's order, past its mark for that log.
func TestRepairPutsLostHitsBackInLogOrder(t *testing.T) {
	ctx := context.Background()
	live, err := embedded.Open(filepath.Join(t.TempDir(), "ledger.db"), embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := live.PutAccount(ctx, storage.Account{ID: "acme", DefaultCurrency: "USD"}); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var rows []*storage.Hit
	for _, log := range []string{"node-a", "node-b"} {
		for pos := 1; pos <= 10; pos++ {
			at := base.Add(time.Duration(pos) * time.Millisecond)
			if pos%2 == 0 {
				at = at.Add(-2 * time.Millisecond) // logged after the one before it, dated before it
			}
			rows = append(rows, &storage.Hit{ID: fmt.Sprintf("%s-%02d", log, pos), Time: at, Account: "acme",
				Kind: storage.KindPixel, Status: storage.StatusAccepted, Credited: []string{"w1"},
				OrderKey: fmt.Sprintf("o:%s-%d", log, pos), HasAmount: true, Amount: 1_000_000, Delta: 1_000_000,
				Currency: "USD", AttendeeID: "e_1", Source: "pixel", Log: log, Pos: uint64(pos)})
		}
	}
	// The live ledger applied node a's first 4 and node b's first 3, then
	// lost the rest.
	for _, n := range []struct{ from, to int }{{0, 4}, {10, 13}} {
		var ops []storage.Op
		for _, h := range rows[n.from:n.to] {
			ops = append(ops, h.ReplayOp())
		}
		if _, err := live.Apply(ctx, ops); err != nil {
			t.Fatal(err)
		}
	}
	slices.SortFunc(rows, func(a, b *storage.Hit) int { return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.ID, b.ID)) })
	src := func(ctx context.Context, fn func(h *storage.Hit) error) error {
		for _, h := range rows {
			c := *h
			if err := fn(&c); err != nil {
				return err
			}
		}
		return nil
	}
	rep, err := Run(ctx, src, live, Options{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Hits != 20 || len(rep.Differences) == 0 || !rep.Repaired || rep.Reapplied != 13 || len(rep.Remaining) != 0 {
		t.Fatalf("report %+v: want 20 hits folded, differences, 13 reapplied, none remaining", rep)
	}
	s, err := live.WebinarStats(ctx, "acme", "w1")
	if err != nil || s.Sales != 20 || s.Revenue["USD"] != 20_000_000 {
		t.Fatalf("after the repair: %+v, %v; want 20 sales", s, err)
	}
}

// A Redis Cluster failover can lose writes the old master acknowledged
// (replication is asynchronous): here its replica is paused and cut off
// while the hits are applied, so the promoted replica lacks them all. The ledger
// follows the promotion, and reconcile --repair brings every total back
// from the raw hits.
func TestRepairRestoresTotalsAfterAFailoverLostWrites(t *testing.T) {
	rc := testenv.StartReplicaCluster(t, 3, 1, time.Second)
	l, err := redisledger.OpenCluster(rc.Addrs[:3])
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if err := l.PutAccount(ctx, storage.Account{ID: "acme", Name: "Acme", DefaultCurrency: "USD"}); err != nil {
		t.Fatal(err)
	}
	p, stop := runPipeline(t, t.TempDir(), l)
	defer stop()
	feed(t, p, hits("acme", 0, 40))
	master := rc.MasterOf("pp:{acme}:account")
	replica := rc.ReplicaOf(master)
	rc.WaitReplicated(master)
	rc.Pause(replica)
	rc.DropReplicas(master)
	feed(t, p, hits("acme", 40, 30)) // acknowledged by the master, never replicated
	before, err := l.WebinarStats(ctx, "acme", "w1")
	if err != nil {
		t.Fatal(err)
	}
	rc.Kill(master)
	rc.Resume(replica)
	rc.WaitOK(60 * time.Second) // the replica is promoted

	var after storage.WebinarStats
	// A wait, not a date: generous on a loaded machine.
	follow, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for after, err = l.WebinarStats(ctx, "acme", "w1"); err != nil; after, err = l.WebinarStats(ctx, "acme", "w1") {
		select {
		case <-follow.Done():
			t.Fatalf("the ledger did not follow the promotion within a minute: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if after.Sales >= before.Sales {
		t.Fatalf("the failover lost nothing (sales %d, then %d): the test proves nothing", before.Sales, after.Sales)
	}
	rep, err := Run(ctx, FromWAL(p.Rows(), nil), l, Options{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) == 0 || !rep.Repaired || len(rep.Remaining) != 0 {
		t.Fatalf("report %+v: want differences found, repaired, none remaining", rep)
	}
	got, err := l.WebinarStats(ctx, "acme", "w1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Sales != before.Sales || got.Registrants != before.Registrants || got.Revenue["USD"] != before.Revenue["USD"] {
		t.Fatalf("after repair %+v, want the totals before the failover %+v", got, before)
	}
}
