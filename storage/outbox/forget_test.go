package outbox_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pixelpost/pixelpost/storage/outbox"
)

// Forgetting a person strips every delivery that names them, in its body
// or its URL, and stops the pending ones; the others stay as they were.
func TestForget(t *testing.T) {
	rc := newReceiver(t, status(200))
	o := open(t, testConfig(t), outbox.Deps{})
	stop := start(t, o)
	sent := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindWebhook, Method: "POST", URL: rc.url("/hook"),
		Headers: map[string]string{"X-Pixelpost-Signature": "sha256=abc"}, Body: []byte(`{"email":"Ann@Example.com"}`)})
	waitFor(t, o, "acct", sent, outbox.StatusDelivered)
	other := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindWebhook, Method: "POST", URL: rc.url("/hook"),
		Body: []byte(`{"email":"bob@example.com"}`)})
	waitFor(t, o, "acct", other, outbox.StatusDelivered)
	stop()
	// Not sent yet (the outbox is stopped): named in its URL, encoded.
	pending := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, URL: rc.url("/pb?e=ann%40example.com")})

	n, err := o.Forget(t.Context(), "acct", "ann@example.com")
	if err != nil || n != 2 {
		t.Fatalf("Forget = %d, %v; want 2", n, err)
	}
	d, _ := o.Get(t.Context(), "acct", sent)
	if d.Status != outbox.StatusDelivered || len(d.Body) != 0 || len(d.Headers) != 0 {
		t.Errorf("a delivered one: %+v", d)
	}
	p, _ := o.Get(t.Context(), "acct", pending)
	if p.Status != outbox.StatusFailed || strings.Contains(p.URL, "ann") || !strings.Contains(p.LastAttempt().Error, "erased") {
		t.Errorf("a pending one: %+v", p)
	}
	if b, _ := o.Get(t.Context(), "acct", other); string(b.Body) != `{"email":"bob@example.com"}` {
		t.Errorf("another person's: %+v", b)
	}
	if n, err := o.Forget(t.Context(), "nobody", "ann@example.com"); n != 0 || err != nil {
		t.Errorf("an account without deliveries: %d, %v", n, err)
	}
	// What was erased cannot be sent again.
	if err := o.Retry(t.Context(), "acct", pending); !errors.Is(err, outbox.ErrConflict) {
		t.Errorf("Retry of an erased delivery: %v, want ErrConflict", err)
	}
	if !p.Erased || !d.Erased {
		t.Errorf("not marked erased: %v %v", p.Erased, d.Erased)
	}
}

// A postback matched by its key (a click the person converted) loses the
// source's macros wherever its template put them, path or query, and the
// outbox file keeps no old copy of them (free pages overwritten).
func TestForgetWhereLeavesNothingInTheFile(t *testing.T) {
	rc := newReceiver(t, status(200))
	cfg := testConfig(t)
	o := open(t, cfg, outbox.Deps{})
	stop := start(t, o)
	var ids []string
	for i := range 20 { // enough deliveries for several pages of the file
		ids = append(ids, enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback,
			Key: "click-ann|t|T" + string(rune('a'+i)) + "|approved|5.00",
			URL: rc.url("/pb/EXT-ANN-MACRO?zone=ZONE-ANN-MACRO&n=" + string(rune('a'+i)))}))
	}
	other := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, Key: "click-bob|g|default|approved|1.00",
		URL: rc.url("/pb/EXT-BOB?zone=9")})
	for _, id := range append(ids, other) {
		waitFor(t, o, "acct", id, outbox.StatusDelivered)
	}
	stop()

	n, err := o.ForgetWhere(t.Context(), "acct", func(d *outbox.Delivery) bool { return strings.HasPrefix(d.Key, "click-ann|") })
	if err != nil || n != len(ids) {
		t.Fatalf("ForgetWhere = %d, %v; want %d", n, err, len(ids))
	}
	d, _ := o.Get(t.Context(), "acct", ids[0])
	if d.URL != rc.url("") || !d.Erased || d.Status != outbox.StatusDelivered {
		t.Errorf("an erased postback: %+v, want its URL cut to %s", d, rc.url(""))
	}
	if b, _ := o.Get(t.Context(), "acct", other); b.URL != rc.url("/pb/EXT-BOB?zone=9") {
		t.Errorf("another click's postback: %+v", b)
	}
	if n, err := o.ForgetWhere(t.Context(), "acct", func(*outbox.Delivery) bool { return true }); err != nil || n != 1 {
		t.Errorf("forgetting again: %d, %v; want only the one not erased yet", n, err)
	}
	b, err := os.ReadFile(filepath.Join(cfg.Dir, outbox.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"EXT-ANN-MACRO", "ZONE-ANN-MACRO"} {
		if c := bytes.Count(b, []byte(s)); c > 0 {
			t.Errorf("the outbox file holds %q %d times after the erasure", s, c)
		}
	}
}
