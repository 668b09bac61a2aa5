package pipeline

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// seenLedger records the ops it is given.
type seenLedger struct {
	storage.Ledger
	mu  sync.Mutex
	ops []storage.Op
}

func (l *seenLedger) Apply(ctx context.Context, ops []storage.Op) ([]storage.Result, error) {
	l.mu.Lock()
	l.ops = append(l.ops, ops...)
	l.mu.Unlock()
	return l.Ledger.Apply(ctx, ops)
}

// The hits log gets a persistent random id; every op the applier hands the
// ledger names that log and its place in it (exactly once by position),
// and the hits recorded before the log had an id (by an earlier build)
// are looked up by hit id too.
func TestOpsCarryTheirPlaceInTheHitsLog(t *testing.T) {
	l := &seenLedger{Ledger: embeddedLedger(t)}
	acct := account(t, l)
	dir := t.TempDir()

	// An earlier build's log: three hits, no id.
	old, err := wal.Open(wal.Options{Dir: filepath.Join(dir, "hits")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := old.Append(storage.AppendHit(nil, sale(acct, i))); err != nil {
			t.Fatal(err)
		}
	}
	oldEnd := old.End()
	old.Close()

	r := start(t, dir, l, Config{})
	for i := 3; i < 6; i++ {
		if err := r.Record(sale(acct, i)); err != nil {
			t.Fatal(err)
		}
	}
	r.sync(t)
	r.stop()

	b, err := os.ReadFile(filepath.Join(dir, "hits", logIDFile))
	if err != nil {
		t.Fatalf("hits log id: %v", err)
	}
	var id logIdentity
	if err := json.Unmarshal(b, &id); err != nil || len(id.ID) != 16 || id.Since != oldEnd {
		t.Fatalf("hits log id %s (%v), want 16 hex digits and since %d", b, err, oldEnd)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "hits", logIDFile)); fi.Mode().Perm() != 0o600 {
		t.Fatalf("hits log id file mode %v, want 0600", fi.Mode().Perm())
	}
	if len(l.ops) != 6 {
		t.Fatalf("ledger saw %d ops, want 6", len(l.ops))
	}
	var last uint64
	for i, op := range l.ops {
		if op.Log != id.ID || op.Pos <= last {
			t.Fatalf("op %d: log %q pos %d, want log %s after %d", i, op.Log, op.Pos, id.ID, last)
		}
		last = op.Pos
		if want := i < 3; op.CheckHitID != want {
			t.Fatalf("op %d: CheckHitID %v, want %v (recorded before the log had an id: %v)", i, op.CheckHitID, want, want)
		}
	}
	wantSales(t, l, acct, 6)

	// The id stays the log's.
	r = start(t, dir, l, Config{})
	r.stop()
	if b2, _ := os.ReadFile(filepath.Join(dir, "hits", logIDFile)); string(b2) != string(b) {
		t.Fatalf("hits log id changed on reopen: %s, then %s", b, b2)
	}
}

// A crash after the ledger applied a batch but before its rows were
// written: the hits are applied again at the same places of the log, the
// ledger recognises them and gives back their original results, which the
// rows record.
func TestReappliedHitsGetTheirOriginalResults(t *testing.T) {
	l := embeddedLedger(t)
	acct := account(t, l)
	dir := t.TempDir()
	p, err := Open(Config{Dir: dir}, Deps{Ledger: l, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := p.Record(sale(acct, i)); err != nil {
			t.Fatal(err)
		}
	}
	// Do what the applier does, up to the ledger, then "crash".
	rd := p.hits.NewReader(p.hits.First())
	var ops []storage.Op
	for range 5 {
		rec, pos, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		h, err := storage.DecodeHit(rec)
		if err != nil {
			t.Fatal(err)
		}
		h.Log, h.Pos = p.logID.ID, uint64(pos)
		ops = append(ops, h.Op())
	}
	rd.Close()
	if _, err := l.Apply(context.Background(), ops); err != nil {
		t.Fatal(err)
	}
	p.Close()

	r := start(t, dir, l, Config{})
	r.sync(t)
	wantSales(t, l, acct, 5)
	got := rows(t, r.Rows())
	if len(got) != 5 {
		t.Fatalf("%d rows, want 5", len(got))
	}
	for _, h := range got {
		if h.Status != storage.StatusAccepted || h.Delta != 10_000_000 || h.Log != p.logID.ID || h.Pos == 0 {
			t.Fatalf("row %s: %s/%s delta %d at %s/%d, want the original accepted result and its place", h.ID, h.Status, h.Reason, h.Delta, h.Log, h.Pos)
		}
	}
}
