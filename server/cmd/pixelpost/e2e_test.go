package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
)

// End-to-end tests of the binary: built once, run as a real process, killed
// with SIGKILL, restarted.

const token = "e2e-admin-token-0123456789"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pixelpost-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "pixelpost")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freshDSN is the test ClickHouse with a database of this test's own.
func freshDSN(t *testing.T) string {
	u, err := url.Parse(testenv.ClickHouse(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = fmt.Sprintf("/pp_e2e_%d", time.Now().UnixNano())
	return u.String()
}

type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	out  *bytes.Buffer
}

func startServer(t *testing.T, dataDir string, extra ...string) *proc {
	t.Helper()
	port := testenv.FreePort(t)
	args := append([]string{"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", dataDir, "--admin-token", token}, extra...)
	cmd := exec.Command(binary(t), args...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), out: out}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; ; i++ {
		if resp, err := http.Get(p.base + "/healthz"); err == nil {
			resp.Body.Close()
			return p
		}
		if i > 300 {
			t.Fatalf("server did not start:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) api(method, path, body string) (int, string) {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.base+"/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// fire sends n distinct sales from 8 clients, with the header pairs given;
// every one must be answered with the GIF.
func (p *proc) fire(acct string, from, n int, header ...string) {
	p.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := from + c; i < from+n; i += 8 {
				req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/conversion/pixel/%s?webinarId=w1&amount=1.50&orderId=o%d&email=b%d@example.com", p.base, acct, i, i), nil)
				for h := 0; h+1 < len(header); h += 2 {
					req.Header.Set(header[h], header[h+1])
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || len(body) != 43 {
					errs <- fmt.Errorf("hit %d: status %d, %d bytes", i, resp.StatusCode, len(body))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		p.t.Fatal(err)
	}
}

func (p *proc) waitStats(acct, want string) {
	p.t.Helper()
	var body string
	for i := 0; i < 300; i++ {
		_, body = p.api("GET", "/accounts/"+acct+"/webinars/w1/stats", "")
		if strings.Contains(body, want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("stats %s, want %s\n%s", body, want, p.out)
}

// rowsIn counts the deduplicated raw hits of acct in ClickHouse, and
// those accepted. A hit the ledger applied just before a kill -9, whose
// result died with the process, is applied again at restart: the ledger
// gives its original result back, so the row says accepted.
func rowsIn(t *testing.T, dsn, acct string) (n int, sales int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch, err := clickhouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	err = ch.Rows(ctx, acct, func(h storage.Hit) error {
		n++
		if h.Status == storage.StatusAccepted {
			sales++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, sales
}

func waitRows(t *testing.T, dsn, acct string, want int) {
	t.Helper()
	var n int
	for i := 0; i < 200; i++ {
		if n, _ = rowsIn(t, dsn, acct); n >= want {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n, sales := rowsIn(t, dsn, acct); n != want || sales != want {
		t.Fatalf("clickhouse has %d rows (%d accepted), want %d", n, sales, want)
	}
}

// Every hit answered before a kill -9 is in ClickHouse after the restart,
// once, and in the ledger, once: backend GETs, answered after the fsync,
// and browser image loads, answered once written (the kill comes right
// after their answers, before the fsync of the last of them is due).
func TestKill9AfterAnsweringLosesNoHit(t *testing.T) {
	dsn := freshDSN(t)
	data := t.TempDir()
	p := startServer(t, data, "--clickhouse-dsn", dsn)
	if code, body := p.api("PUT", "/accounts/acme", `{"name":"Acme","default_currency":"USD"}`); code != 200 {
		t.Fatalf("put account: %d %s", code, body)
	}
	const n = 400
	p.fire("acme", 0, n)
	if got := p.metric(`pixelpost_hits_acknowledged_total{when="written"}`); got != "0" {
		t.Fatalf("backend GETs acknowledged once written: %s", got)
	}
	p.fire("acme", n, n, "Sec-Fetch-Dest", "image", "Accept", "image/avif,image/webp,*/*")
	if got := p.metric(`pixelpost_hits_acknowledged_total{when="written"}`); got != fmt.Sprint(n) {
		t.Fatalf("%s browser image loads acknowledged once written, want %d", got, n)
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()

	p = startServer(t, data, "--clickhouse-dsn", dsn)
	p.waitStats("acme", fmt.Sprintf(`"sales":%d,"revenue":{"USD":"%d.00"}`, 2*n, 2*n*3/2))
	waitRows(t, dsn, "acme", 2*n)
}

// metric returns the value of a series on /metrics ("" if absent).
func (p *proc) metric(series string) string {
	p.t.Helper()
	resp, err := http.Get(p.base + "/metrics")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// The embedded default keeps its raw hits in the rows log: SIGTERM exits
// 0 after draining, import-wal loads them into ClickHouse (twice, without
// duplicates), and reconcile proves the ledger against them.
func TestEmbeddedArchiveImportAndReconcile(t *testing.T) {
	dsn := freshDSN(t)
	data := t.TempDir()
	p := startServer(t, data)
	p.api("PUT", "/accounts/acme", `{"name":"Acme","default_currency":"USD"}`)
	const n = 120
	p.fire("acme", 0, n)
	p.fire("acme", 0, n) // refreshes: duplicates, no new sale
	// The reports answer without ClickHouse, from the embedded hit index.
	want := fmt.Sprintf(`"hits":[{"kind":"pixel","status":"accepted","reason":"","count":%d},`+
		`{"kind":"pixel","status":"duplicate","reason":"same_order","count":%d}]`, n, n)
	var code int
	var body string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if code, body = p.api("GET", "/accounts/acme/reports/hits", ""); code == 200 && strings.Contains(body, want) {
			break
		}
	}
	if code != 200 || !strings.Contains(body, want) {
		t.Fatalf("report without clickhouse: %d %s, want %s", code, body, want)
	}
	// One customer asks to be forgotten: their two rows leave the archive
	// (neither the import nor reconcile could bring them back anyway).
	if code, body := p.api("DELETE", "/accounts/acme/attendees/b0@example.com", ""); code != 200 || !strings.Contains(body, `"orders":1`) {
		t.Fatalf("erasure: %d %s", code, body)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.out)
	}

	for range 2 {
		out, err := exec.Command(binary(t), "import-wal", "--data-dir", data, "--clickhouse-dsn", dsn).CombinedOutput()
		if err != nil || !strings.Contains(string(out), fmt.Sprintf("imported %d rows", 2*n-2)) ||
			!strings.Contains(string(out), "0 of erased people left out") {
			t.Fatalf("import-wal: %v\n%s", err, out)
		}
	}
	if rows, sales := rowsIn(t, dsn, "acme"); rows != 2*n-2 || sales != n-1 {
		t.Fatalf("after two imports: %d rows, %d sales; want %d rows, %d sales", rows, sales, 2*n-2, n-1)
	}
	out, err := exec.Command(binary(t), "reconcile", "--data-dir", data).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0 differences") {
		t.Fatalf("reconcile: %v\n%s", err, out)
	}
}
