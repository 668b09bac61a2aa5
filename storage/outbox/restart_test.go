package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage/outbox"
)

// A delivery enqueued and never attempted survives Close and is delivered
// by the next Run.
func TestPendingSurvivesReopen(t *testing.T) {
	rc := newReceiver(t, status(http.StatusOK))
	cfg := testConfig(t)
	o, err := outbox.Open(cfg, outbox.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	id := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindWebhook, URL: rc.url("/hook"), Body: []byte("x")})
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}

	o = open(t, cfg, outbox.Deps{})
	if s := o.Stats(); s.Pending != 1 {
		t.Errorf("Stats after reopen = %+v, want 1 pending", s)
	}
	start(t, o)
	waitFor(t, o, "acct", id, outbox.StatusDelivered)
	if r := rc.requests(); len(r) != 1 || string(r[0].Body) != "x" {
		t.Errorf("requests = %+v", r)
	}
}

// A delivery enqueued while its receiver is down is retried, stays pending
// across a restart of the outbox, and is delivered once the receiver is up.
func TestDeliveredAfterReceiverComesBack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the receiver is down: connections are refused

	cfg := testConfig(t)
	cfg.Backoff = func(int) time.Duration { return 20 * time.Millisecond }
	o, err := outbox.Open(cfg, outbox.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	id := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, URL: "http://" + addr + "/pb"})
	waitUntil(t, "failed attempts", func() bool {
		d, err := o.Get(t.Context(), "acct", id)
		return err == nil && d.AttemptCount >= 2
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	o = open(t, cfg, outbox.Deps{})
	start(t, o)
	d := waitFor(t, o, "acct", id, outbox.StatusDelivered)
	first := d.Attempts[0]
	if first.Status != 0 || !strings.Contains(first.Error, "connection refused") {
		t.Errorf("first attempt = %+v", first)
	}
	if last := d.LastAttempt(); last.Status != 200 || last.Response != "ok" {
		t.Errorf("last attempt = %+v", last)
	}
}

// Stopping Run cancels the request in flight; its delivery stays pending,
// with no attempt recorded, and the next Run delivers it.
func TestStopLeavesInFlightPending(t *testing.T) {
	entered := make(chan struct{}, 1)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			entered <- struct{}{}
			<-r.Context().Done()
			return
		}
		fmt.Fprint(w, "ok")
	})
	cfg := testConfig(t)
	cfg.Timeout = 30 * time.Second
	var res results
	o := open(t, cfg, outbox.Deps{OnResult: res.hook})
	stop := start(t, o)
	id := enqueue(t, o, outbox.Delivery{Account: "acct", Kind: outbox.KindPostback, URL: rc.url("/slow")})
	<-entered
	if s := o.Stats(); s.InFlight != 1 {
		t.Errorf("Stats in flight = %+v", s)
	}
	began := time.Now()
	stop()
	if took := time.Since(began); took > time.Second {
		t.Errorf("Run took %s to stop", took)
	}
	d, err := o.Get(t.Context(), "acct", id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != outbox.StatusPending || d.AttemptCount != 0 || len(res.all()) != 0 {
		t.Errorf("after stop: %+v, OnResult %+v", d, res.all())
	}
	if s := o.Stats(); s.InFlight != 0 || s.Pending != 1 {
		t.Errorf("Stats = %+v", s)
	}

	start(t, o)
	d = waitFor(t, o, "acct", id, outbox.StatusDelivered)
	if d.AttemptCount != 1 {
		t.Errorf("attempts = %+v", d.Attempts)
	}
}

// Close stops a Run under way; a second Run at once is refused.
func TestCloseStopsRun(t *testing.T) {
	o := open(t, testConfig(t), outbox.Deps{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if err := o.Run(ctx2); !errors.Is(err, outbox.ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
	began := time.Now()
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("Run took %s to stop on Close", took)
	}
}
