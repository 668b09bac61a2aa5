package outbox_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/pixelpost/pixelpost/storage/outbox"
)

func TestList(t *testing.T) {
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusNotFound)
		}
	})
	o := open(t, testConfig(t), outbox.Deps{})
	stop := start(t, o)
	type in struct{ account, kind, path string }
	var ids []string // of acct, in enqueue order
	for _, d := range []in{
		{"acct", outbox.KindPostback, "/ok"},
		{"acct", outbox.KindWebhook, "/bad"},
		{"other", outbox.KindPostback, "/ok"},
		{"acct", outbox.KindMeta, "/ok"},
		{"acct", outbox.KindPostback, "/bad"},
	} {
		id := enqueue(t, o, outbox.Delivery{Account: d.account, Kind: d.kind, URL: rc.url(d.path)})
		if d.account == "acct" {
			ids = append(ids, id)
		}
	}
	waitUntil(t, "all done", func() bool { s := o.Stats(); return s.Pending == 0 && s.Delivered+s.Failed == 5 })
	stop()
	// One more, pending: Run is stopped.
	ids = append(ids, enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindWebhook, URL: rc.url("/ok")}))

	idsOf := func(ds []outbox.Delivery) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		account string
		f       outbox.ListFilter
		want    []int // indexes in ids
	}{
		{"all newest first", "acct", outbox.ListFilter{}, []int{4, 3, 2, 1, 0}},
		{"limit", "acct", outbox.ListFilter{Limit: 2}, []int{4, 3}},
		{"failed", "acct", outbox.ListFilter{Status: outbox.StatusFailed}, []int{3, 1}},
		{"delivered", "acct", outbox.ListFilter{Status: outbox.StatusDelivered}, []int{2, 0}},
		{"pending", "acct", outbox.ListFilter{Status: outbox.StatusPending}, []int{4}},
		{"postbacks", "acct", outbox.ListFilter{Kind: outbox.KindPostback}, []int{3, 0}},
		{"failed webhooks", "acct", outbox.ListFilter{Kind: outbox.KindWebhook, Status: outbox.StatusFailed}, []int{1}},
		{"unknown account", "nobody", outbox.ListFilter{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := o.List(t.Context(), tc.account, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, i := range tc.want {
				want = append(want, ids[i])
			}
			if !slices.Equal(idsOf(got), want) {
				t.Errorf("List = %v, want %v", idsOf(got), want)
			}
			for _, d := range got {
				if d.Account != tc.account {
					t.Errorf("delivery of account %s listed", d.Account)
				}
			}
		})
	}
	if got, err := o.List(t.Context(), "other", outbox.ListFilter{}); err != nil || len(got) != 1 {
		t.Errorf("List(other) = %v, %v", got, err)
	}
	for _, f := range []outbox.ListFilter{{Status: "lost"}, {Kind: "sms"}} {
		if _, err := o.List(t.Context(), "acct", f); !errors.Is(err, outbox.ErrInvalid) {
			t.Errorf("List(%+v) = %v, want ErrInvalid", f, err)
		}
	}
	if s := o.Stats(); s.Pending != 1 || s.Delivered != 3 || s.Failed != 2 || s.Attempts != 5 {
		t.Errorf("Stats = %+v", s)
	}
}
