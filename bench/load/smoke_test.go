package load

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/server"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
	"github.com/pixelpost/pixelpost/storage/redisledger"
)

const smokeToken = "smoke-admin-token-0123456789"

// TestBooksBalanceSmoke is the CI version of bench/run: a few seconds of
// the mix against the full pipeline (Redis ledger, write-ahead logs,
// ClickHouse shipping), then the books check. No speed is asserted.
func TestBooksBalanceSmoke(t *testing.T) {
	ledger, err := redisledger.OpenURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	u, err := url.Parse(testenv.ClickHouse(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = fmt.Sprintf("/pp_smoke_%d", time.Now().UnixNano())
	ctx := context.Background()
	ch, err := clickhouse.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()

	cfg, err := server.Load([]string{"--admin-token", smokeToken, "--data-dir", t.TempDir()}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg, server.Deps{Ledger: ledger, ClickHouse: ch, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	defer func() { stop(); <-done }()

	base := "http://" + ln.Addr().String()
	acct := fmt.Sprintf("smoke%d", time.Now().UnixNano()%1e9)
	req, _ := http.NewRequest("PUT", base+"/api/v1/accounts/"+acct, strings.NewReader(`{"name":"Smoke","default_currency":"USD"}`))
	req.Header.Set("Authorization", "Bearer "+smokeToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("create account: %v %v", err, resp)
	}
	resp.Body.Close()

	mix := &Mix{Base: base, Account: acct, Run: "smoke"}
	res := Drive(ln.Addr().String(), mix.URL, Options{Conns: 16, Duration: 3 * time.Second})
	t.Log(res)
	if res.Errors > 0 || res.OK == 0 {
		t.Fatalf("drive: %s (first error %s)", res, res.FirstErr)
	}
	report, err := Books{Base: base, AdminToken: smokeToken, Account: acct, ClickHouse: ch, Settle: time.Minute}.Check(ctx, res.Sent)
	t.Log("\n" + report)
	if err != nil {
		t.Fatal(err)
	}
}
