package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/server"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
)

// The operator's path to a ClickHouse cluster, on the two-shard test
// cluster: pixelpost clickhouse-ddl prints the DDL, clickhouse-client runs
// it on every shard, and pixelpost started with --clickhouse-cluster ships
// to the Distributed table (rows land on both shards), answers the hits
// report from it, replays its log after a kill -9 without doubling a hit,
// and reconcile reads it back with 0 differences.
func TestClickHouseClusterEndToEnd(t *testing.T) {
	cl := testenv.ClickHouseClusterOf(t)
	client := testenv.Binary(t, "clickhouse-client")
	db := fmt.Sprintf("pp_e2e_cluster_%d", time.Now().UnixNano())
	dsn := "clickhouse://" + cl.Shards[0] + "/" + db
	chFlags := []string{"--clickhouse-dsn", dsn, "--clickhouse-cluster", cl.Name}

	ddl := exec.Command(binary(t), "clickhouse-ddl", "--cluster", cl.Name, "--clickhouse-dsn", dsn)
	var stdout, stderr bytes.Buffer
	ddl.Stdout, ddl.Stderr = &stdout, &stderr
	if err := ddl.Run(); err != nil {
		t.Fatalf("clickhouse-ddl: %v\n%s", err, stderr.String())
	}
	if want := clickhouse.ClusterScript(db, cl.Name, false); stdout.String() != want {
		t.Fatalf("clickhouse-ddl printed\n%s\nwant\n%s", stdout.String(), want)
	}
	shards := make([]ch.Conn, 0, len(cl.Shards))
	for _, addr := range cl.Shards {
		host, port, _ := strings.Cut(addr, ":")
		run := exec.Command(client, "--host", host, "--port", port, "--multiquery")
		run.Stdin = strings.NewReader(stdout.String())
		if out, err := run.CombinedOutput(); err != nil {
			t.Fatalf("clickhouse-client on %s: %v\n%s", addr, err, out)
		}
		conn, err := ch.Open(&ch.Options{Addr: []string{addr}})
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, conn)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, conn := range shards {
			_ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db)
			conn.Close()
		}
	})

	data := t.TempDir()
	p := startServer(t, data, chFlags...)
	p.api("PUT", "/accounts/acme", `{"name":"Acme","default_currency":"USD"}`)
	const n = 60
	p.fire("acme", 0, n)
	p.fire("acme", 0, n) // refreshes: duplicates
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()

	// The restart replays what the kill left unshipped: same hit ids, same
	// shards, counted once.
	p = startServer(t, data, chFlags...)
	p.waitStats("acme", fmt.Sprintf(`"sales":%d`, n))
	want := fmt.Sprintf(`"hits":[{"kind":"pixel","status":"accepted","reason":"","count":%d},{"kind":"pixel","status":"duplicate","reason":"same_order","count":%d}]`, n, n)
	var body string
	for i := 0; i < 600 && !strings.Contains(body, want); i++ {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		_, body = p.api("GET", "/accounts/acme/reports/hits?from=2000-01-01&to=2100-01-01", "")
	}
	if !strings.Contains(body, want) {
		t.Fatalf("hits report through the cluster:\n%s\nwant %s\n%s", body, want, p.out)
	}
	for i, conn := range shards {
		var rows uint64
		if err := conn.QueryRow(t.Context(), "SELECT count() FROM "+db+".hits_local").Scan(&rows); err != nil || rows == 0 {
			t.Errorf("shard %d holds %d rows (%v)", i, rows, err)
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.out)
	}

	args := append([]string{"reconcile", "--source", "clickhouse", "--data-dir", data}, chFlags...)
	out, err := exec.Command(binary(t), args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("folded %d raw hits", 2*n)) || !strings.Contains(string(out), "0 differences") {
		t.Fatalf("reconcile from the cluster: %v\n%s", err, out)
	}
}

// clickhouse-ddl prints the cluster DDL in the DSN's database, takes the
// cluster from --clickhouse-cluster when --cluster is absent, and refuses
// to guess one.
func TestClickHouseDDLCommand(t *testing.T) {
	f := func(args []string, want string, wantErr string) {
		t.Helper()
		var o ddlOptions
		rest, _ := o.parse(args)
		cfg, err := server.Load(rest, func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		err = clickhouseDDL(&stdout, &stderr, cfg, o)
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("%q: err %v, want %q", args, err, wantErr)
			}
			return
		}
		if err != nil || stdout.String() != want {
			t.Errorf("%q: %v\n%s", args, err, stdout.String())
		}
	}
	f([]string{"--cluster", "shards", "--replicated", "--clickhouse-dsn", "clickhouse://h:9000/pp"},
		clickhouse.ClusterScript("pp", "shards", true), "")
	f([]string{"--cluster=shards"}, clickhouse.ClusterScript("default", "shards", false), "")
	f([]string{"--clickhouse-dsn", "clickhouse://h:9000/pp", "--clickhouse-cluster", "c1"}, clickhouse.ClusterScript("pp", "c1", false), "")
	f(nil, "", "needs --cluster")
	f([]string{"--cluster", "a;b"}, "", "invalid clickhouse cluster")
}
