package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// downLedger fails Apply while down is set, as an unreachable Redis does.
type downLedger struct {
	storage.Ledger
	down atomic.Bool
}

func (d *downLedger) Apply(ctx context.Context, ops []storage.Op) ([]storage.Result, error) {
	if d.down.Load() {
		return nil, fmt.Errorf("%w: test outage", storage.ErrUnavailable)
	}
	return d.Ledger.Apply(ctx, ops)
}

// hitsLogHolds reports the files of the hits log that contain s.
func hitsLogHolds(t *testing.T, dir, s string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(filepath.Join(dir, "hits"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(s)) {
			found = append(found, filepath.Base(path))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// Purge deletes the hits recorded before it from the hits log (their
// emails with them) once they are applied; until the ledger applied them
// it waits, and says so when its context ends first.
func TestPurgeDeletesTheHitsRecordedBefore(t *testing.T) {
	l := &downLedger{Ledger: embeddedLedger(t)}
	acct := account(t, l)
	dir := t.TempDir()
	p := start(t, dir, l, Config{})
	for i := range 20 {
		if err := p.Record(sale(acct, i)); err != nil {
			t.Fatal(err)
		}
	}
	p.sync(t)
	if len(hitsLogHolds(t, dir, "@example.com")) == 0 {
		t.Fatal("the hits log holds no email before Purge: the test proves nothing")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Purge(ctx); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if files := hitsLogHolds(t, dir, "@example.com"); len(files) != 0 {
		t.Errorf("after Purge the hits log still holds emails in %v", files)
	}

	// While the ledger is down the hits wait on disk: Purge cannot finish.
	l.down.Store(true)
	if err := p.Record(sale(acct, 20)); err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	if err := p.Purge(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Purge while the ledger is down: %v, want a deadline error", err)
	}
	if len(hitsLogHolds(t, dir, "p6@example.com")) == 0 {
		t.Fatal("a hit not applied yet left the hits log")
	}
	l.down.Store(false)
	if err := p.Purge(ctx); err != nil {
		t.Fatalf("Purge once the ledger is back: %v", err)
	}
	if files := hitsLogHolds(t, dir, "@example.com"); len(files) != 0 {
		t.Errorf("after the second Purge the hits log still holds emails in %v", files)
	}
	wantSales(t, l, acct, 21)
	// An idle pipeline, nothing recorded since: Purge has nothing to wait for.
	if err := p.Purge(ctx); err != nil {
		t.Errorf("Purge with nothing new: %v", err)
	}
}
