package server

import (
	"bytes"
	"context"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// Everything pixelpost writes (data dir, ledger, write-ahead logs, outbox,
// Meta queue, admin token) is its user's only: directories 0700, files
// 0600; a data dir others could read is made private at start-up, and the
// log says so.
func TestFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	var logs lockedBuffer
	log := zerolog.New(&logs)
	cfg, err := Load([]string{"--data-dir", dir}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAdminToken(&cfg); err != nil {
		t.Fatal(err)
	}
	l, err := OpenLedger(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := newClock()
	srv, err := New(cfg, Deps{Ledger: l, Log: log, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv, clock: c, acct: uniqueAccount()}
	req := httptest.NewRequest("PUT", "/api/v1/accounts/"+h.acct, jsonBody(map[string]any{"name": "T"}))
	req.Header.Set("Authorization", "Bearer "+cfg.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	if resp := h.do(req); resp.StatusCode != 200 {
		t.Fatalf("create account: %d", resp.StatusCode)
	}
	h.pixel("webinarId=w1&email=ann@example.com&amount=5&orderId=P1")
	srv.Close()

	if !strings.Contains(logs.String(), "data dir was open to other users: made private") || !strings.Contains(logs.String(), `"was":"-rwxr-xr-x"`) {
		t.Errorf("no log line says the data dir was made private:\n%s", logs.String())
	}
	var files int
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", strings.TrimPrefix(path, dir), fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Errorf("only %d files written: the test did not exercise the ledger, logs, outbox and token", files)
	}
}
