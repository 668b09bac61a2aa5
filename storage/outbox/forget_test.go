package outbox_test

import (
	"errors"
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
