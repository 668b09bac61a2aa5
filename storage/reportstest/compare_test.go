package reportstest_test

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
	"github.com/pixelpost/pixelpost/storage/hitindex"
	"github.com/pixelpost/pixelpost/storage/reportstest"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// The embedded default's hit index and a real ClickHouse, fed the same
// rows, answer every report and log with the same JSON (SPEC §5). Under
// CI=true a missing ClickHouse fails the test.
func TestEmbeddedEqualsClickHouse(t *testing.T) {
	u, err := url.Parse(testenv.ClickHouse(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = fmt.Sprintf("/pp_reportstest_%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch, err := clickhouse.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	x, err := hitindex.Open(hitindex.Config{Path: filepath.Join(t.TempDir(), "hits.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()

	hits := reportstest.Hits()
	if err := ch.Insert(ctx, hits); err != nil {
		t.Fatal(err)
	}
	if err := x.Add(hits, wal.Pos(1)); err != nil {
		t.Fatal(err)
	}
	reportstest.Compare(t, x, ch)
}
