package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var nonIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// testDSN returns the test server's DSN with a database of its own, unique
// to this test and dropped when it ends, and the database name.
func testDSN(t testing.TB) (string, string) {
	t.Helper()
	base := testenv.ClickHouse(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("bad PIXELPOST_TEST_CLICKHOUSE %q: %v", base, err)
	}
	name := nonIdent.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 30 {
		name = name[:30]
	}
	var b [4]byte
	rand.Read(b[:])
	db := "pp_" + name + "_" + hex.EncodeToString(b[:])
	u.Path = "/" + db
	dsn := u.String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := Open(ctx, dsn)
		if err != nil {
			t.Logf("cannot drop test database %s: %v", db, err)
			return
		}
		defer c.Close()
		if err := c.conn.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(db)); err != nil {
			t.Logf("cannot drop test database %s: %v", db, err)
		}
	})
	return dsn, db
}

// openTest opens a Client on a fresh database, closed when the test ends.
func openTest(t testing.TB) *Client {
	t.Helper()
	dsn, _ := testDSN(t)
	c, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// day0 is 2024-03-10 12:00 UTC.
var day0 = time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)

// hit builds a decided pixel conversion; opts adjust it.
func hit(id string, at time.Time, opts ...func(*storage.Hit)) storage.Hit {
	h := storage.Hit{
		ID: id, Time: at, Account: "acme", Kind: storage.KindPixel,
		Status: storage.StatusAccepted, Webinars: []string{"w1"}, Tags: []string{"course", "vip"},
		OrderID: "o-" + id, OrderKey: "o:o-" + id, HasAmount: true,
		Amount: attribution.Micros(49_990_000), Delta: attribution.Micros(49_990_000), Currency: "USD",
		ProductID: "p1", ProductName: "Course", Source: "pixel",
		Email: "alice@example.com", CookieID: "cookie-secret",
		Credited: []string{"w1"}, AttendeeID: "att-" + id, EmailSHA256: "sha-" + id,
		ClickID: "clk", CampaignID: "cmp", IP: "203.0.113.0", UserAgent: "ua", Referer: "https://ref/",
		Query: "wid=w1&email=REDACTED",
	}
	for _, o := range opts {
		o(&h)
	}
	return h
}

func status(s storage.Status, reason string) func(*storage.Hit) {
	return func(h *storage.Hit) { h.Status, h.Reason = s, reason }
}

func money(delta int64, currency string) func(*storage.Hit) {
	return func(h *storage.Hit) {
		h.Delta, h.Currency = attribution.Micros(delta), currency
	}
}

func attendee(id string) func(*storage.Hit) {
	return func(h *storage.Hit) { h.AttendeeID = id }
}

func kind(k string) func(*storage.Hit) {
	return func(h *storage.Hit) { h.Kind = k }
}

func credited(w ...string) func(*storage.Hit) {
	return func(h *storage.Hit) { h.Credited = w }
}

// manyHits returns n accepted hits of account "bulk", one millisecond apart.
func manyHits(prefix string, n int) []storage.Hit {
	hits := make([]storage.Hit, n)
	for i := range hits {
		hits[i] = hit(fmt.Sprintf("%s-%07d", prefix, i), day0.Add(time.Duration(i)*time.Millisecond),
			func(h *storage.Hit) { h.Account = "bulk" })
	}
	return hits
}

// countFinal is the deduped number of rows.
func countFinal(t testing.TB, c *Client) uint64 {
	t.Helper()
	var n uint64
	if err := c.conn.QueryRow(t.Context(), "SELECT count() FROM hits FINAL").Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

// countDistinct is the number of distinct hit ids, however many copies.
func countDistinct(t testing.TB, c *Client) uint64 {
	t.Helper()
	var n uint64
	if err := c.conn.QueryRow(t.Context(), "SELECT uniqExact(hit_id) FROM hits").Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}
