package hitindex

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/report"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/reportstest"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// rowsLog opens a rows log in dir holding hits, as the applier writes it.
func rowsLog(t *testing.T, dir string, hits []storage.Hit) *wal.Log {
	t.Helper()
	l, err := wal.Open(wal.Options{Dir: dir, NoSync: true, SegmentBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	appendRows(t, l, hits)
	return l
}

func appendRows(t *testing.T, l *wal.Log, hits []storage.Hit) {
	t.Helper()
	for i := range hits {
		if _, err := l.Append(storage.AppendHit(nil, &hits[i])); err != nil {
			t.Fatal(err)
		}
	}
}

// follow runs Follow until the test ends.
func follow(t *testing.T, x *Index, deps FollowDeps) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	deps.Logger = zerolog.Nop()
	go func() { done <- x.Follow(ctx, deps) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Follow: %v", err)
		}
	})
}

func waitIndexed(t *testing.T, x *Index, l *wal.Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := x.WaitIndexed(ctx, l.End()); err != nil {
		t.Fatalf("waiting for the index to catch up with the rows log: %v", err)
	}
}

func clickCount(t *testing.T, x *Index, account string) int64 {
	t.Helper()
	res, err := x.CampaignSums(t.Context(), account, report.CampaignQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Total.Clicks
}

// The follower indexes the rows log as it grows, resumes after a restart
// without counting twice, and rebuilds a deleted index from the log.
func TestFollowRestartAndRebuild(t *testing.T) {
	dir := t.TempDir()
	hits := reportstest.Hits()
	l := rowsLog(t, filepath.Join(dir, "rows"), hits[:10])
	path := filepath.Join(dir, "hits.db")

	x, err := Open(Config{Path: path, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	stop := func() {} // set below
	{
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- x.Follow(ctx, FollowDeps{Log: l, Logger: zerolog.Nop()}) }()
		stop = func() { cancel(); <-done; x.Close() }
	}
	waitIndexed(t, x, l)
	appendRows(t, l, hits[10:]) // while it follows
	waitIndexed(t, x, l)
	stop()

	// Restarted: from its position; the rows are there once.
	x, err = Open(Config{Path: path, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	follow(t, x, FollowDeps{Log: l})
	t.Cleanup(func() { x.Close() })
	waitIndexed(t, x, l)
	reportstest.Run(t, x)

	// Deleted: rebuilt from the log, with the same answers.
	y, err := Open(Config{Path: filepath.Join(dir, "rebuilt.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { y.Close() })
	follow(t, y, FollowDeps{Log: l})
	waitIndexed(t, y, l)
	reportstest.Compare(t, x, y)
}

// A position the rows log does not have (a log cut after a crash, or
// replaced) makes the follower read the log again from its start.
func TestFollowPositionBeyondTheLog(t *testing.T) {
	dir := t.TempDir()
	hits := reportstest.Hits()
	x := openTest(t)
	if err := x.Add(nil, wal.Pos(1<<40)); err != nil {
		t.Fatal(err)
	}
	l := rowsLog(t, dir, hits)
	x.Align(l, zerolog.Nop())
	follow(t, x, FollowDeps{Log: l})
	waitIndexed(t, x, l)
	if got := clickCount(t, x, reportstest.Acme); got != 6 { // all time: k0-k5
		t.Errorf("%d clicks, want 6", got)
	}
	reportstest.Run(t, x)
}

// Rows of people erased before they were indexed (a rebuild from the
// archive) are left out.
func TestFollowLeavesOutErasedRows(t *testing.T) {
	hits := reportstest.Hits()
	l := rowsLog(t, t.TempDir(), hits)
	x := openTest(t)
	follow(t, x, FollowDeps{Log: l, Leave: func(h *storage.Hit) bool { return h.AttendeeID == "B" }})
	waitIndexed(t, x, l)
	page, err := storage.PurchaseLog(t.Context(), x, reportstest.Shop, report.LogQuery{Webinar: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Entries {
		if e.AttendeeID == "B" {
			t.Errorf("an erased person's row was indexed: %+v", e)
		}
	}
	if len(page.Entries) != 7 { // early, a1, u1, d1, r1, m1, late
		t.Errorf("%d purchases, want 7: %+v", len(page.Entries), page.Entries)
	}
}

// An erasure deletes every row of the email hash or the attendee id, and
// leaves nothing of them in the file, free pages included.
func TestEraseLeavesNothingInTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hits.db")
	x, err := Open(Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	hits := reportstest.Hits()
	for i := range hits {
		if hits[i].AttendeeID == "A" && hits[i].Account == reportstest.Shop {
			hits[i].EmailSHA256 = "0123456789abcdef-sha-of-ann"
			hits[i].UserAgent = "ann's very own user agent"
		}
	}
	if err := x.Add(hits, 1); err != nil {
		t.Fatal(err)
	}
	n, err := x.Erase(t.Context(), reportstest.Shop, "0123456789abcdef-sha-of-ann", "A")
	if err != nil || n != 7 { // early, a1, u1, d1, m1, late, l1 (the other account's x1 stays)
		t.Fatalf("erased %d rows, %v; want 7", n, err)
	}
	page, err := storage.PurchaseLog(t.Context(), x, reportstest.Shop, report.LogQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Entries {
		if e.AttendeeID == "A" {
			t.Errorf("left: %+v", e)
		}
	}
	if other, _ := storage.PurchaseLog(t.Context(), x, reportstest.Other, report.LogQuery{}); len(other.Entries) != 1 {
		t.Errorf("another account's row of the same attendee id was erased: %+v", other.Entries)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"0123456789abcdef-sha-of-ann", "ann's very own user agent"} {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("the file still holds %q", s)
		}
	}
	// Erasing again finds nothing.
	if n, err := x.Erase(t.Context(), reportstest.Shop, "0123456789abcdef-sha-of-ann", "A"); err != nil || n != 0 {
		t.Errorf("again: %d, %v", n, err)
	}
	if _, err := x.CampaignSums(t.Context(), reportstest.Acme, report.CampaignQuery{}); err != nil {
		t.Errorf("the scrubbed file answers: %v", err)
	}
}

// A fact decodes to what was encoded, and a damaged one is an error.
func TestFactRoundTrip(t *testing.T) {
	for _, h := range reportstest.Hits() {
		f := newFact(&h)
		var got fact
		if err := decodeFact(f.encode(nil), &got); err != nil {
			t.Fatal(err)
		}
		if got.kind != f.kind || got.delta != f.delta || got.zone != f.zone || got.clickID != f.clickID ||
			got.attendeeID != f.attendeeID || len(got.webinars) != len(f.webinars) || got.convStatus != f.convStatus {
			t.Errorf("%s: %+v, want %+v", h.ID, got, f)
		}
		b := f.encode(nil)
		for _, cut := range []int{0, 1, len(b) / 2, len(b) - 1} {
			if err := decodeFact(b[:cut], &got); err == nil {
				t.Errorf("%s cut at %d decoded", h.ID, cut)
			}
		}
	}
}

// Days in a zone, across a DST change at 02:00 and one at midnight.
func TestDayOf(t *testing.T) {
	f := func(tz string, at time.Time, want string) {
		t.Helper()
		d, err := newDayOf(tz)
		if err != nil {
			t.Fatal(err)
		}
		for _, ms := range []int64{at.UnixMilli() - 3_600_000, at.UnixMilli()} { // warm the cache first
			d.of(ms)
		}
		if got := d.of(at.UnixMilli()); got != want {
			t.Errorf("%s %s: %s, want %s", tz, at, got, want)
		}
	}
	f("Europe/Paris", time.Date(2026, 3, 28, 23, 30, 0, 0, time.UTC), "2026-03-29")
	f("Europe/Paris", time.Date(2026, 3, 28, 22, 59, 59, 0, time.UTC), "2026-03-28")
	f("America/Santiago", time.Date(2026, 9, 6, 4, 0, 0, 0, time.UTC), "2026-09-06")   // midnight skipped there
	f("America/Santiago", time.Date(2026, 9, 6, 3, 59, 59, 0, time.UTC), "2026-09-05") //
	f("Asia/Kathmandu", time.Date(2026, 3, 1, 18, 15, 0, 0, time.UTC), "2026-03-02")   // UTC+5:45
	f("Asia/Kathmandu", time.Date(2026, 3, 1, 18, 14, 59, 0, time.UTC), "2026-03-01")  //
	if _, err := newDayOf("Mars/Olympus"); err == nil {
		t.Error("unknown zone accepted")
	}
}
