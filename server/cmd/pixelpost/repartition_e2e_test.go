package main

import (
	"context"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/pixelpost/pixelpost/storage/clickhouse"
)

// clickhouse-repartition partitions a hits table of an older release (by
// month) by day, keeps its rows and the old table, and says so.
func TestClickHouseRepartitionCommand(t *testing.T) {
	dsn := freshDSN(t)
	u, _ := url.Parse(dsn)
	db := strings.TrimPrefix(u.Path, "/")
	conn, err := ch.Open(&ch.Options{Addr: []string{u.Host}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = conn.Exec(cctx, "DROP DATABASE IF EXISTS "+db)
		conn.Close()
	})
	monthly := strings.Replace(clickhouse.HitsDDL, "toYYYYMMDD(ts)", "toYYYYMM(ts)", 1)
	monthly = strings.Replace(monthly, "CREATE TABLE IF NOT EXISTS hits", "CREATE TABLE "+db+".hits", 1)
	for _, q := range []string{"CREATE DATABASE " + db, monthly,
		"INSERT INTO " + db + ".hits (hit_id, ts, ts_ms, account, kind, status, webinar_ids, macro_keys, macro_values, version) " +
			"SELECT concat('h', toString(number)), toDateTime(1710072000 + number * 86400), (1710072000 + number * 86400) * 1000, " +
			"'acme', 'pixel', 'accepted', emptyArrayString(), emptyArrayString(), emptyArrayString(), 1 FROM system.numbers LIMIT 40",
	} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i := range 2 { // again: nothing to do
		out, err := exec.Command(binary(t), "clickhouse-repartition", "--clickhouse-dsn", dsn).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "is partitioned by day") {
			t.Fatalf("run %d: %v\n%s", i+1, err, out)
		}
	}
	var key string
	var rows, old uint64
	if err := conn.QueryRow(ctx, "SELECT partition_key FROM system.tables WHERE database = ? AND name = 'hits'", db).Scan(&key); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".hits").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".hits_by_month").Scan(&old); err != nil {
		t.Fatal(err)
	}
	if key != "toYYYYMMDD(ts)" || rows != 40 || old != 40 {
		t.Fatalf("after the command: hits partitioned by %q with %d rows, hits_by_month %d rows; want toYYYYMMDD(ts), 40, 40", key, rows, old)
	}
}
