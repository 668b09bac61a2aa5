package outbox_test

import (
	"errors"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/internal/testenv"

	"github.com/pixelpost/pixelpost/storage/outbox"
)

// Finished deliveries go after KeepFor, with their Key (a new delivery with
// it is sent); pending ones and younger ones stay; Delivered still counts
// them (it counts ever).
func TestPrune(t *testing.T) {
	clk := testenv.NewClock()
	rc := newReceiver(t, status(200))
	o := open(t, testConfig(t), outbox.Deps{Now: clk.Now})
	stop := start(t, o)
	old := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, URL: rc.url("/a"), Key: "conv-1"})
	waitFor(t, o, "acct", old, outbox.StatusDelivered)
	stop()
	pending := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, URL: rc.url("/b")})
	clk.Advance(outbox.DefaultKeepFor + time.Hour)
	young := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, URL: rc.url("/c")})
	before := o.Stats()

	n, err := o.Prune(t.Context(), clk.Now().Add(-outbox.DefaultKeepFor), 100)
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	if _, err := o.Get(t.Context(), "acct", old); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("the old delivered one: %v, want ErrNotFound", err)
	}
	for _, id := range []string{pending, young} {
		if _, err := o.Get(t.Context(), "acct", id); err != nil {
			t.Errorf("delivery %s: %v", id, err)
		}
	}
	if after := o.Stats(); after.Delivered != before.Delivered || after.Pending != before.Pending {
		t.Errorf("stats %+v -> %+v", before, after)
	}
	again := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, URL: rc.url("/a"), Key: "conv-1"})
	if again == old {
		t.Errorf("the pruned Key still dedupes")
	}
	if n, err := o.Prune(t.Context(), clk.Now().Add(-outbox.DefaultKeepFor), 100); n != 0 || err != nil {
		t.Errorf("Prune again = %d, %v", n, err)
	}
}
