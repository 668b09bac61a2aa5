package redisledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
	"github.com/pixelpost/pixelpost/storage/ledgertest"
)

func openStandalone(t testing.TB) *Ledger {
	t.Helper()
	l, err := OpenURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func openCluster(t testing.TB) *Ledger {
	t.Helper()
	l, err := OpenCluster(testenv.RedisCluster(t))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) storage.Ledger { return openStandalone(t) })
}

func TestConformanceCluster(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) storage.Ledger { return openCluster(t) })
}

// servers runs fn against the standalone server and the cluster.
func servers(t *testing.T, fn func(t *testing.T, l *Ledger)) {
	t.Run("standalone", func(t *testing.T) {
		l := openStandalone(t)
		t.Cleanup(func() { _ = l.Close() })
		fn(t, l)
	})
	t.Run("cluster", func(t *testing.T) {
		l := openCluster(t)
		t.Cleanup(func() { _ = l.Close() })
		fn(t, l)
	})
}

func randomID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

var base = time.Date(2025, time.March, 10, 12, 0, 0, 0, time.UTC)

func newAccount(t testing.TB, l *Ledger) string {
	t.Helper()
	id := randomID("rl-")
	if err := l.PutAccount(context.Background(), storage.Account{ID: id, Name: id, DefaultCurrency: "USD"}); err != nil {
		t.Fatalf("PutAccount: %v", err)
	}
	return id
}

func conv(acct, orderKey string, amount attribution.Micros) storage.Op {
	return storage.Op{HitID: randomID("hit-"), Account: acct, Kind: storage.OpConversion, Time: base,
		OrderKey: orderKey, OrderID: orderKey, HasAmount: true, Amount: amount, Currency: "USD",
		Webinars: []string{"w1"}, Source: "pixel"}
}

func applyOK(t *testing.T, l storage.Ledger, ops ...storage.Op) []storage.Result {
	t.Helper()
	res, err := l.Apply(t.Context(), ops)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

// User-supplied ids with braces must not move any key out of the account's
// slot: on a cluster a stray key would fail the script (CROSSSLOT or "non
// local key").
func TestBracesStayInAccountSlot(t *testing.T) {
	servers(t, func(t *testing.T, l *Ledger) {
		ctx := t.Context()
		acct := newAccount(t, l)
		ids := []string{"{x}", "}{", "{", "}", "a{b}c", "{" + acct + "}", "{other}"}
		if err := l.PutWebinar(ctx, acct, storage.Webinar{ID: "{w}", Name: "braces", Tags: ids}); err != nil {
			t.Fatalf("PutWebinar: %v", err)
		}
		var ops []storage.Op
		for i, id := range ids {
			o := conv(acct, id, attribution.Micros(i+1)*attribution.MicrosPerUnit)
			o.Webinars = []string{id}
			o.Tags = []string{ids[(i+1)%len(ids)]}
			o.CookieID = id
			o.AttendeeEmail = id + "@example.com"
			o.HitID = "hit" + id + strconv.Itoa(i) + randomID("")
			ops = append(ops, o)
			r := storage.Op{HitID: randomID("hit-"), Account: acct, Kind: storage.OpRegistration, Time: base,
				Webinars: []string{id}, CookieID: id}
			ops = append(ops, r)
		}
		for i, r := range applyOK(t, l, ops...) {
			if r.Status != storage.StatusAccepted {
				t.Errorf("op %d (%q): %+v", i, ops[i].OrderKey, r)
			}
		}
		for _, id := range ids {
			if _, err := l.WebinarStats(ctx, acct, id); err != nil {
				t.Errorf("WebinarStats(%q): %v", id, err)
			}
			if _, err := l.Registrants(ctx, acct, id); err != nil {
				t.Errorf("Registrants(%q): %v", id, err)
			}
			a, err := l.Attendee(ctx, acct, id+"@example.com")
			if err != nil || a.Orders != 1 || len(a.OrderList) != 1 || a.OrderList[0].Key != id {
				t.Errorf("Attendee(%q): %+v, %v", id, a, err)
			}
		}
		// Every key of the account is in its slot and has exactly the one
		// hash tag: no user id appears raw in a key name.
		keys := accountKeys(t, l, acct)
		if len(keys) < 30 {
			t.Fatalf("found %d keys of the account: %v", len(keys), keys)
		}
		slot := slotOf(accountKey(acct))
		for _, k := range keys {
			if slotOf(k) != slot || strings.Count(k, "{") != 1 || strings.Count(k, "}") != 1 {
				t.Errorf("key %q is out of the account's slot or carries a raw id", k)
			}
		}
	})
}

// accountKeys scans every master for the account's keys; on a cluster they
// must all be on one master.
func accountKeys(t *testing.T, l *Ledger, acct string) []string {
	t.Helper()
	var mu sync.Mutex
	var keys []string
	masters := 0
	scan := func(ctx context.Context, c *redis.Client) error {
		var local []string
		it := c.Scan(ctx, 0, keyPrefix(acct)+"*", 1000).Iterator()
		for it.Next(ctx) {
			local = append(local, it.Val())
		}
		mu.Lock()
		defer mu.Unlock()
		if len(local) > 0 {
			masters++
		}
		keys = append(keys, local...)
		return it.Err()
	}
	var err error
	switch c := l.c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(t.Context(), scan)
	case *redis.Client:
		err = scan(t.Context(), c)
	}
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if masters > 1 {
		t.Errorf("the account's keys are on %d masters", masters)
	}
	return keys
}

// slotOf is the cluster hash slot of a key (CRC16 of its hash tag).
func slotOf(key string) int {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

func TestSlotOf(t *testing.T) {
	// Values from CLUSTER KEYSLOT.
	for key, want := range map[string]int{"foo": 12182, "{user1000}.following": 3443, "pp:{acct}:o:ab": slotOf("acct")} {
		if got := slotOf(key); got != want {
			t.Errorf("slotOf(%q) = %d, want %d", key, got, want)
		}
	}
}

func TestSlotOfMatchesCluster(t *testing.T) {
	cl := openCluster(t)
	defer cl.Close()
	for _, k := range []string{"foo", "pp:{lt-1}:account", "pp:{a.b:c-d_e}:h:00"} {
		want, err := cl.c.ClusterKeySlot(t.Context(), k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := slotOf(k); int64(got) != want {
			t.Errorf("slotOf(%q) = %d, CLUSTER KEYSLOT %d", k, got, want)
		}
	}
}

// Amounts up to 12 integer digits are 10^18 micros, beyond a Lua double's
// 2^53: every difference and total must still be exact.
func TestMoneyIsExact(t *testing.T) {
	servers(t, func(t *testing.T, l *Ledger) {
		cases := []struct {
			name     string
			old, new attribution.Micros
		}{
			{"zero to max", 0, 999_999_999_999_999_999},
			{"max to one", 999_999_999_999_999_999, 1},
			{"one micro less", 123_456_789_012_345_678, 123_456_789_012_345_677},
			{"one micro more", 9_007_199_254_740_993, 9_007_199_254_740_994},
			{"across a 10^9 boundary down", 1_000_000_000, 999_999_999},
			{"across a 10^9 boundary up", 999_999_999, 1_000_000_001},
			{"negative to positive", -5_000_000_000_000_000_01, 4_999_999_999_999_999_99},
			{"to zero", 700_000_000_000_000_007, 0},
			{"small", 10, 25},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				acct := newAccount(t, l)
				first := conv(acct, "o1", c.old)
				first.AttendeeEmail = "big@example.com"
				later := first
				later.HitID, later.Amount, later.Time = randomID("hit-"), c.new, base.Add(time.Minute)
				res := applyOK(t, l, first, later)
				if res[0].Delta != c.old || res[1].Delta != c.new-c.old {
					t.Errorf("deltas %d, %d; want %d, %d", res[0].Delta, res[1].Delta, c.old, c.new-c.old)
				}
				s, err := l.WebinarStats(t.Context(), acct, "w1")
				if err != nil {
					t.Fatal(err)
				}
				a, err := l.Attendee(t.Context(), acct, "big@example.com")
				if err != nil {
					t.Fatal(err)
				}
				if c.new == 0 {
					if len(s.Revenue) != 0 || len(a.LTV) != 0 {
						t.Errorf("zero totals not omitted: revenue %v, LTV %v", s.Revenue, a.LTV)
					}
				} else if s.Revenue["USD"] != c.new || a.LTV["USD"] != c.new || a.OrderList[0].Amount != c.new {
					t.Errorf("revenue %v, LTV %v, order amount %d; want %d", s.Revenue, a.LTV, a.OrderList[0].Amount, c.new)
				}
			})
		}
	})
}

// The order window compares nanoseconds exactly, and times round-trip to
// the nanosecond.
func TestWindowAndTimesAreExact(t *testing.T) {
	servers(t, func(t *testing.T, l *Ledger) {
		acct := newAccount(t, l)
		o := conv(acct, "fp", attribution.MicrosPerUnit)
		o.OrderWindow = 30 * time.Minute
		o.AttendeeEmail = "ns@example.com"
		o.Time = base.Add(123_456_789)
		at := func(d time.Duration) storage.Op {
			n := o
			n.HitID, n.Time = randomID("hit-"), o.Time.Add(d)
			return n
		}
		res := applyOK(t, l, o, at(30*time.Minute), at(60*time.Minute+1))
		want := []storage.Status{storage.StatusAccepted, storage.StatusDuplicate, storage.StatusAccepted}
		for i, r := range res {
			if r.Status != want[i] {
				t.Errorf("sighting %d: %s, want %s", i, r.Status, want[i])
			}
		}
		a, err := l.Attendee(t.Context(), acct, "ns@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(a.OrderList) != 2 || !a.OrderList[0].LastSeen.Equal(o.Time.Add(30*time.Minute)) ||
			!a.OrderList[1].FirstSeen.Equal(o.Time.Add(60*time.Minute+1)) {
			t.Errorf("order list: %+v", a.OrderList)
		}
		reg := storage.Op{HitID: randomID("hit-"), Account: acct, Kind: storage.OpRegistration,
			Time: base.Add(987_654_321), Webinars: []string{"w1"}, AttendeeEmail: "ns@example.com"}
		applyOK(t, l, reg)
		rs, err := l.Registrants(t.Context(), acct, "w1")
		if err != nil || len(rs) != 1 || !rs[0].RegisteredAt.Equal(reg.Time) || rs[0].Email != "ns@example.com" {
			t.Errorf("registrants: %+v, %v", rs, err)
		}
	})
}

func TestInvalidOpsRejectedAlone(t *testing.T) {
	l := openStandalone(t)
	defer l.Close()
	acct := newAccount(t, l)
	good := conv(acct, "o1", 1)
	noHit := conv(acct, "o2", 1)
	noHit.HitID = ""
	noKey := conv(acct, "", 1)
	braces := conv("{"+acct+"}", "o3", 1)
	huge := conv(acct, strings.Repeat("k", maxIDLen+1), 1)
	res := applyOK(t, l, good, noHit, noKey, braces, huge)
	want := []storage.Result{
		{Status: storage.StatusAccepted, Delta: 1, Credited: []string{"w1"}},
		{Status: storage.StatusRejected, Reason: decide.ReasonInvalidOp},
		{Status: storage.StatusRejected, Reason: decide.ReasonInvalidOp},
		{Status: storage.StatusRejected, Reason: storage.ReasonUnknownAccount},
		{Status: storage.StatusRejected, Reason: decide.ReasonInvalidOp},
	}
	for i := range want {
		if res[i].Status != want[i].Status || res[i].Reason != want[i].Reason || res[i].Delta != want[i].Delta ||
			!slices.Equal(res[i].Credited, want[i].Credited) {
			t.Errorf("op %d: %+v, want %+v", i, res[i], want[i])
		}
	}
	if err := l.PutAccount(t.Context(), storage.Account{ID: "a{b}"}); err == nil {
		t.Error("PutAccount accepted an id with braces")
	}
	if _, err := l.Account(t.Context(), "a{b}"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Account(a{b}): %v, want ErrNotFound", err)
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestUnavailable(t *testing.T) {
	// One dial attempt and no retry keep the test short; the defaults
	// (OpenURL, OpenCluster) retry for a second or two first.
	addr := closedAddr(t)
	standalone := redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1, MaxRetries: -1})
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}, DialerRetries: 1, MaxRetries: -1})
	for name, c := range map[string]redis.UniversalClient{"standalone": standalone, "cluster": cluster} {
		t.Run(name, func(t *testing.T) {
			defer c.Close()
			l := New(c, Config{})
			ctx := t.Context()
			_, err := l.Apply(ctx, []storage.Op{conv("acct", "o1", 1)})
			checks := map[string]error{"Apply": err, "Ping": l.Ping(ctx),
				"PutAccount": l.PutAccount(ctx, storage.Account{ID: "acct"}),
				"PutWebinar": l.PutWebinar(ctx, "acct", storage.Webinar{ID: "w1"})}
			_, checks["Account"] = l.Account(ctx, "acct")
			_, checks["Webinars"] = l.Webinars(ctx, "acct")
			_, checks["WebinarStats"] = l.WebinarStats(ctx, "acct", "w1")
			_, checks["Registrants"] = l.Registrants(ctx, "acct", "w1")
			_, checks["Attendee"] = l.Attendee(ctx, "acct", "a@example.com")
			_, checks["CheckConfig"] = l.CheckConfig(ctx)
			for what, err := range checks {
				if !errors.Is(err, storage.ErrUnavailable) {
					t.Errorf("%s: %v, want storage.ErrUnavailable", what, err)
				}
			}
		})
	}
}

func TestClosedIsUnavailable(t *testing.T) {
	l := openStandalone(t)
	_ = l.Close()
	if _, err := l.Apply(t.Context(), []storage.Op{conv("acct", "o1", 1)}); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Apply after Close: %v, want storage.ErrUnavailable", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// lostReplies lets pipelines run on the server, then fails them as a
// connection dropped before the replies arrived would.
type lostReplies struct{ armed atomic.Bool }

func (h *lostReplies) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *lostReplies) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *lostReplies) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if h.armed.Load() {
			for _, c := range cmds {
				c.SetErr(io.ErrUnexpectedEOF)
			}
			return io.ErrUnexpectedEOF
		}
		return err
	}
}

func TestRetryAfterErrorReturnsDuplicates(t *testing.T) {
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	hook := &lostReplies{}
	c.AddHook(hook)
	l := New(c, Config{})
	acct := newAccount(t, l)
	reg := storage.Op{HitID: randomID("hit-"), Account: acct, Kind: storage.OpRegistration, Time: base,
		Webinars: []string{"w1"}, AttendeeEmail: "re@example.com"}
	o := conv(acct, "o1", 10)
	o.AttendeeEmail = "re@example.com"
	reg.Log, reg.Pos, o.Log, o.Pos = "L", 1, "L", 2
	batch := []storage.Op{reg, o}
	applyOK(t, l, conv(acct, "o0", 0)) // the node knows the account: the next call is the commit alone

	hook.armed.Store(true)
	if _, err := l.Apply(t.Context(), batch); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Apply with lost replies: %v, want storage.ErrUnavailable", err)
	}
	hook.armed.Store(false)
	for i, r := range applyOK(t, l, batch...) {
		if r.Status != storage.StatusDuplicate || r.Reason != storage.ReasonReplayedHit {
			t.Errorf("retried op %d: %+v, want duplicate/replayed_hit", i, r)
		}
	}
	s, err := l.WebinarStats(t.Context(), acct, "w1")
	if err != nil || s.Sales != 2 || s.Registrants != 1 || s.ConvertedRegistrants != 1 || s.Revenue["USD"] != 10 {
		t.Errorf("stats after retry: %+v, %v; want the sale of o0 and o1's once", s, err)
	}
}

// A server without the script (restarted, SCRIPT FLUSH) gets it loaded and
// the batch applied in order. A fresh script body stands for the flushed
// server, so the shared test server is not flushed.
func TestNoScriptReloads(t *testing.T) {
	servers(t, func(t *testing.T, l *Ledger) {
		l.commitScript = redis.NewScript(commitSrc + "\n-- " + randomID("nonce-") + "\n")
		acct := newAccount(t, l)
		reg := storage.Op{HitID: randomID("hit-"), Account: acct, Kind: storage.OpRegistration, Time: base,
			Webinars: []string{"w1"}, AttendeeEmail: "ns@example.com", CookieID: "ck"}
		o := conv(acct, "o1", 10)
		o.CookieID = "ck" // resolves through the link the registration made
		res := applyOK(t, l, reg, o)
		if res[0].Status != storage.StatusAccepted || res[1].Status != storage.StatusAccepted ||
			res[1].AttendeeID != attribution.EmailAttendeeID("ns@example.com") {
			t.Errorf("results: %+v", res)
		}
		s, err := l.WebinarStats(t.Context(), acct, "w1")
		if err != nil || s.ConvertedRegistrants != 1 {
			t.Errorf("stats: %+v, %v", s, err)
		}
	})
}

func TestCheckConfigTestServers(t *testing.T) {
	servers(t, func(t *testing.T, l *Ledger) {
		warnings, err := l.CheckConfig(t.Context())
		if err != nil {
			t.Fatalf("CheckConfig: %v", err)
		}
		t.Logf("warnings: %q", warnings)
	})
}

// TestCheckConfig runs CheckConfig against a fake server answering CONFIG
// GET with each setting, and against a throwaway real redis-server with
// allkeys-lru when one is installed.
func TestCheckConfig(t *testing.T) {
	cases := []struct {
		name       string
		cfg        map[string]string // nil: CONFIG is disabled
		wantErr    string
		wantWarn   []string
		wantNoWarn bool
	}{
		{name: "noeviction with aof", cfg: map[string]string{"maxmemory-policy": "noeviction", "appendonly": "yes"}, wantNoWarn: true},
		{name: "aof off warns", cfg: map[string]string{"maxmemory-policy": "noeviction", "appendonly": "no"}, wantWarn: []string{"appendonly is no"}},
		{name: "allkeys-lru refused", cfg: map[string]string{"maxmemory-policy": "allkeys-lru", "appendonly": "yes"},
			wantErr: "maxmemory-policy is allkeys-lru"},
		{name: "volatile-ttl refused", cfg: map[string]string{"maxmemory-policy": "volatile-ttl", "appendonly": "no"},
			wantErr: "maxmemory-policy is volatile-ttl", wantWarn: []string{"appendonly is no"}},
		{name: "config disabled warns", cfg: nil, wantWarn: []string{"cannot check"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := fakeRedis(t, c.cfg)
			l, err := OpenURL("redis://" + addr)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			warnings, err := l.CheckConfig(t.Context())
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("CheckConfig: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) ||
				!strings.Contains(err.Error(), "noeviction")):
				t.Errorf("CheckConfig: %v, want an error containing %q and the fix", err, c.wantErr)
			}
			if c.wantNoWarn && len(warnings) > 0 {
				t.Errorf("warnings: %q", warnings)
			}
			for _, w := range c.wantWarn {
				if !slices.ContainsFunc(warnings, func(s string) bool { return strings.Contains(s, w) }) {
					t.Errorf("warnings %q lack %q", warnings, w)
				}
			}
		})
	}
	t.Run("real redis-server with allkeys-lru", func(t *testing.T) {
		bin := testenv.Binary(t, "redis-server")
		addr := closedAddr(t)
		_, port, _ := net.SplitHostPort(addr)
		cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--maxmemory-policy", "allkeys-lru", "--dir", t.TempDir())
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		l, err := OpenURL("redis://" + addr)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		for deadline := time.Now().Add(5 * time.Second); l.Ping(t.Context()) != nil; {
			if time.Now().After(deadline) {
				t.Fatal("throwaway redis-server did not start")
			}
			time.Sleep(20 * time.Millisecond)
		}
		warnings, err := l.CheckConfig(t.Context())
		if err == nil || !strings.Contains(err.Error(), "allkeys-lru") {
			t.Errorf("CheckConfig: %v, want allkeys-lru refused", err)
		}
		if !slices.ContainsFunc(warnings, func(s string) bool { return strings.Contains(s, "appendonly is no") }) {
			t.Errorf("warnings %q lack the AOF warning", warnings)
		}
	})
}

// BenchmarkApply measures conversions (a new order of a new attendee for
// one webinar each) applied one per call and in batches of 64, per op.
func BenchmarkApply(b *testing.B) {
	for _, size := range []int{1, 64} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			l := openStandalone(b)
			defer l.Close()
			acct := newAccount(b, l)
			ops := make([]storage.Op, size)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += size {
				for i := range ops {
					ops[i] = conv(acct, "o"+strconv.Itoa(done+i), 49_990_000)
					ops[i].AttendeeEmail = "bench" + strconv.Itoa(done+i) + "@example.com"
				}
				if _, err := l.Apply(ctx, ops); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// Hits an earlier build applied (Op.CheckHitID: recorded before their
// log had an id) are found where it remembered them: hourly hashes
// pp:{A}:hb:<hour> with results in rb:<hour>, and before those, for ops
// older than pp:{A}:hb-since, single keys h:<h> and hr:<h>.
func TestHitIDsOfEarlierBuildsStillCount(t *testing.T) {
	servers(t, func(t *testing.T, l *Ledger) {
		ctx := t.Context()
		acct := newAccount(t, l)
		prefix := keyPrefix(acct)
		hourly := conv(acct, "o-hourly", 4_000_000)
		hourly.Time = base.Add(2 * time.Hour)
		hour := strconv.FormatInt(hourly.Time.Unix()/3600, 10)
		single := conv(acct, "o-single", 5_000_000)
		for k, v := range map[string]string{
			prefix + "hb-since":               strconv.FormatInt(base.Add(time.Hour).UnixNano(), 10),
			prefix + "h:" + hx(single.HitID):  "1",
			prefix + "hr:" + hx(single.HitID): `["accepted","","5000000","","w1"]`,
		} {
			if err := l.c.Set(ctx, k, v, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.c.HSet(ctx, prefix+"hb:"+hour, hourly.HitID, "1").Err(); err != nil {
			t.Fatal(err)
		}
		if err := l.c.HSet(ctx, prefix+"rb:"+hour, hourly.HitID, `["accepted","","4000000","","w1"]`).Err(); err != nil {
			t.Fatal(err)
		}
		fresh := conv(acct, "o-new", 2_000_000)
		fresh.Time = base.Add(3 * time.Hour)
		if err := l.c.Set(ctx, prefix+"h:"+hx(fresh.HitID), "1", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		ops := []storage.Op{single, hourly, fresh}
		for i := range ops {
			ops[i].Log, ops[i].Pos, ops[i].CheckHitID = "L", uint64(i+1), true
		}
		res := applyOK(t, l, ops...)
		for i, want := range []attribution.Micros{5_000_000, 4_000_000} {
			if r := res[i]; r.Reason != storage.ReasonReplayedHit || r.Original == nil || r.Original.Delta != want {
				t.Errorf("op %d applied by an earlier build = %+v, want replayed with its original result", i, r)
			}
		}
		// A hit after hb-since is looked for in the hourly hashes only: an
		// unrelated single key with its id does not stop it.
		if res[2].Status != storage.StatusAccepted {
			t.Errorf("new hit = %+v, want accepted", res[2])
		}
		s, err := l.WebinarStats(ctx, acct, "w1")
		if err != nil || s.Sales != 1 || s.Revenue["USD"] != 2_000_000 {
			t.Errorf("stats = %+v, %v; want the new sale only", s, err)
		}
	})
}

// A conversion expires with its click (no postback reaches it after), so
// conversions do not pile up in Redis.
func TestConversionExpiresWithItsClick(t *testing.T) {
	servers(t, func(t *testing.T, l *Ledger) {
		acct := newAccount(t, l)
		click := storage.Op{HitID: randomID("hit-"), Account: acct, Kind: storage.OpClick, Time: base,
			ClickID: "c1", CampaignID: "camp", ClickTTL: 24 * time.Hour, Currency: "USD", Access: &storage.ClickAccess{PixelConversions: true}}
		pb := storage.Op{HitID: randomID("hit-"), Account: acct, Kind: storage.OpPostback, Time: base.Add(time.Minute),
			ClickID: "c1", ConvStatus: "approved", RawStatus: "1", HasAmount: true, Amount: 1_000_000, Currency: "USD"}
		if r := applyOK(t, l, click, pb); r[1].Status != storage.StatusAccepted {
			t.Fatalf("postback: %+v", r[1])
		}
		ctx := t.Context()
		clickTTL, err1 := l.c.PTTL(ctx, keyPrefix(acct)+"k:"+hx("c1")).Result()
		convTTL, err2 := l.c.PTTL(ctx, keyPrefix(acct)+"cv:"+hx(storage.ConvKey("c1", "", ""))).Result()
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if want := 24*time.Hour + storage.ClickGrace; clickTTL <= want-time.Minute || clickTTL > want {
			t.Errorf("click TTL %v, want about %v", clickTTL, want)
		}
		if convTTL <= 0 || convTTL > clickTTL || clickTTL-convTTL > time.Minute {
			t.Errorf("conversion TTL %v, want about the click's %v", convTTL, clickTTL)
		}
	})
}

// The set tying an attendee to the clicks it converted expires with the
// last of them (keys.go), and its members are the click ids the erasure
// names.
func TestAttendeeClicksExpireWithTheirLastClick(t *testing.T) {
	servers(t, func(t *testing.T, l *Ledger) {
		acct := newAccount(t, l)
		email := "ann@example.com"
		click := func(id string, ttl time.Duration) storage.Op {
			return storage.Op{HitID: randomID("hit-"), Account: acct, Kind: storage.OpClick, Time: base,
				ClickID: id, CampaignID: "camp", ClickTTL: ttl, Currency: "USD", Access: &storage.ClickAccess{PixelConversions: true},
				Macros: map[string]string{"external_id": "ext-" + id}}
		}
		pixel := func(id string) storage.Op {
			return storage.Op{HitID: randomID("hit-"), Account: acct, Kind: storage.OpPostback, Time: base.Add(time.Minute),
				ClickID: id, TxID: "o-" + id, ConvStatus: "approved", HasAmount: true, Amount: 1_000_000, Currency: "USD",
				Source: storage.SourcePixel, AttendeeEmail: email}
		}
		ctx := t.Context()
		set := keyPrefix(acct) + "ak:" + hx(attribution.EmailAttendeeID(email))
		ttl := func(key string) time.Duration {
			t.Helper()
			d, err := l.c.PTTL(ctx, key).Result()
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		if r := applyOK(t, l, click("long", 30*24*time.Hour), click("short", 24*time.Hour), pixel("long"), pixel("short")); r[2].AttendeeID == "" || r[3].AttendeeID == "" {
			t.Fatalf("pixel conversions: %+v", r)
		}
		long := ttl(keyPrefix(acct) + "k:" + hx("long"))
		if got := ttl(set); got <= 0 || got > long || long-got > time.Minute {
			t.Errorf("tie set TTL %v, want about the longest click's %v", got, long)
		}
		members, err := l.c.SMembers(ctx, set).Result()
		if slices.Sort(members); err != nil || !slices.Equal(members, []string{"long", "short"}) {
			t.Errorf("tie set members %v, %v; want the click ids", members, err)
		}
		er, err := l.EraseAttendee(ctx, acct, email, base.Add(time.Hour))
		if err != nil || er.Clicks != 2 || !slices.Equal(er.ClickIDs, []string{"long", "short"}) {
			t.Errorf("EraseAttendee = %+v, %v", er, err)
		}
		// Kept for a repeated erasure, still expiring with the clicks.
		if got := ttl(set); got <= 0 || got > long {
			t.Errorf("tie set TTL after the erasure %v, want at most %v", got, long)
		}
	})
}

// A lead card may send an email and nothing else: its op's profile is
// empty, and nil once read back from the hits log. The script gets an
// empty object: it used to fail on null at every retry, and the node's
// applier stayed stuck behind that hit.
func TestLeadWithOnlyAnEmail(t *testing.T) {
	servers(t, func(t *testing.T, l *Ledger) {
		acct := newAccount(t, l)
		res := applyOK(t, l, storage.Op{HitID: randomID("hit-"), Account: acct, Kind: storage.OpLead, Time: base,
			AttendeeEmail: "only-email@example.com"})
		if res[0].Status == storage.StatusRejected {
			t.Fatalf("lead with only an email: %+v", res[0])
		}
		if _, err := l.Attendee(t.Context(), acct, "only-email@example.com"); err != nil {
			t.Fatalf("the lead's attendee: %v", err)
		}
	})
}
