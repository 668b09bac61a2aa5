package redisledger

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage"
)

// When the master of an account's slot dies, its replica is promoted and
// the ledger follows it: every read and Apply works again within seconds
// of the promotion (not at the client's next periodic topology refresh, a
// minute later), and a batch retried across the failover is applied once.
func TestClusterFailoverIsFollowed(t *testing.T) {
	const nodeTimeout = time.Second
	rc := testenv.StartReplicaCluster(t, 3, 1, nodeTimeout)
	l, err := OpenCluster(rc.Addrs[:3])
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	acct := newAccount(t, l)
	const before = 20
	for i := range before {
		applyOK(t, l, conv(acct, fmt.Sprint("before-", i), 10*attribution.MicrosPerUnit))
	}
	master := rc.MasterOf(accountKey(acct))
	rc.WaitReplicated(master)
	rc.Kill(master)
	killed := time.Now()

	// As the applier does: the same batch again until it is applied.
	// At its place in a hits log: sent again, it is recognised by it.
	op := conv(acct, "during-failover", 10*attribution.MicrosPerUnit)
	op.Log, op.Pos = "failover-node", 1
	ops := []storage.Op{op}
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, lastErr = l.Apply(ctx, ops)
		cancel()
		if lastErr == nil {
			break
		}
		if !errors.Is(lastErr, storage.ErrUnavailable) {
			t.Fatalf("Apply during the failover: %v, want storage.ErrUnavailable until it is applied", lastErr)
		}
		// Promotion takes about two node timeouts; a client that waits
		// for its periodic refresh (a minute) is stuck well past this.
		if time.Since(killed) > 20*time.Second {
			t.Fatalf("the ledger did not follow the promotion within 20s of the master's death: %v", lastErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("Apply succeeded %s after the master was killed", time.Since(killed).Round(time.Millisecond))
	if _, err := l.Account(t.Context(), acct); err != nil {
		t.Fatalf("Account after the failover: %v", err)
	}
	res := applyOK(t, l, ops...)
	if res[0].Status != storage.StatusDuplicate || res[0].Reason != storage.ReasonReplayedHit {
		t.Fatalf("the batch applied during the failover, sent again: %+v, want a replayed duplicate", res[0])
	}
	st, err := l.WebinarStats(t.Context(), acct, "w1")
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(before + 1); st.Sales != want || st.Revenue["USD"] != attribution.Micros(want*10*attribution.MicrosPerUnit) {
		t.Fatalf("after the failover: %d sales, %v; want %d sales of 10 USD (nothing lost or doubled)", st.Sales, st.Revenue, want)
	}
}

// With a NAT map the client dials every server at its mapped address,
// the seeds and the servers the slot map names alike: here each is a
// proxy, and cutting the proxies cuts the ledger off the cluster.
func TestClusterThroughNATMap(t *testing.T) {
	nat := map[string]string{}
	var seeds []string
	var proxies []*testenv.Proxy
	for _, addr := range testenv.RedisCluster(t) {
		p := testenv.NewProxy(t, addr)
		nat[addr] = p.Addr()
		seeds = append(seeds, p.Addr())
		proxies = append(proxies, p)
	}
	l, err := OpenClusterNAT(seeds, nat)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	acct := newAccount(t, l)
	applyOK(t, l, conv(acct, "o1", 10*attribution.MicrosPerUnit))
	for _, p := range proxies {
		p.Cut()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	_, err = l.Apply(ctx, []storage.Op{conv(acct, "o2", 10*attribution.MicrosPerUnit)})
	cancel()
	if err == nil {
		t.Fatal("Apply succeeded with every proxy cut: the client reached a server directly")
	}
	for _, p := range proxies {
		p.Restore()
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		_, err = l.Apply(ctx, []storage.Op{conv(acct, "o3", 10*attribution.MicrosPerUnit)})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Apply after the proxies were restored: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A ledger opened while Redis could not be reached (CheckLater) applies
// nothing before it checked the configuration: while Redis is refused
// (here maxmemory-policy allkeys-lru) Apply says so, as an unavailable
// ledger (the hits wait); once it is right, the hits go through.
func TestCheckLaterRefusesAnEvictingRedis(t *testing.T) {
	bin := testenv.Binary(t, "redis-server")
	port := testenv.FreePort(t)
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
		"--maxmemory-policy", "allkeys-lru", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); c.Ping(t.Context()).Err() != nil; {
		if time.Now().After(deadline) {
			t.Fatal("throwaway redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	l, err := OpenURL("redis://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.CheckLater()
	acct := newAccount(t, l)
	op := conv(acct, "o1", 10*attribution.MicrosPerUnit)
	_, err = l.Apply(t.Context(), []storage.Op{op})
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "maxmemory-policy is allkeys-lru") {
		t.Fatalf("Apply on an evicting redis: %v, want it refused as unavailable, saying why", err)
	}
	if err := l.Ping(t.Context()); err == nil || !strings.Contains(err.Error(), "allkeys-lru") {
		t.Fatalf("Ping on an evicting redis: %v, want the refusal (for /readyz)", err)
	}
	if st, _ := l.WebinarStats(t.Context(), acct, "w1"); st.Sales != 0 {
		t.Fatalf("the refused Apply applied: %+v", st)
	}
	if err := c.ConfigSet(t.Context(), "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	applyOK(t, l, op)
	if err := l.Ping(t.Context()); err != nil {
		t.Fatalf("Ping once the configuration is right: %v", err)
	}
}
