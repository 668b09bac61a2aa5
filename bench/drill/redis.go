package drill

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisCluster is the drill's Redis Cluster: masters with one replica
// each, AOF everysec, cluster-node-timeout 2000 ms, on loopback.
type redisCluster struct {
	servers []*proc
	addrs   []string // host:port of servers[i]
}

const clusterNodeTimeout = 2000 // ms

func startRedisCluster(work string, masters int) (*redisCluster, error) {
	rc := &redisCluster{}
	for i := range masters * 2 {
		port, err := freePort(true)
		if err != nil {
			return rc, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		dir := filepath.Join(work, fmt.Sprintf("redis-%d", port))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return rc, err
		}
		p := newProc(work, fmt.Sprintf("redis%d", i+1), "redis-server",
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", strconv.Itoa(clusterNodeTimeout),
			"--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction",
			"--save", "")
		if err := p.start(); err != nil {
			return rc, err
		}
		rc.servers, rc.addrs = append(rc.servers, p), append(rc.addrs, addr)
	}
	for _, a := range rc.addrs {
		if err := waitFor("redis "+a+" to answer", 20*time.Second, func() bool { return ping(a) }); err != nil {
			return rc, err
		}
	}
	args := append([]string{"--cluster", "create"}, rc.addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		return rc, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	return rc, rc.waitHealthy(60 * time.Second)
}

func ping(addr string) bool {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Ping(ctx).Err() == nil
}

// clusterNode is a line of CLUSTER NODES.
type clusterNode struct {
	id, addr, master string // master: the id of a replica's master
	isMaster, failed bool
	slots            [][2]int
}

// nodes reads CLUSTER NODES from the first live server.
func (rc *redisCluster) nodes() ([]clusterNode, error) {
	var lastErr error
	for i, a := range rc.addrs {
		if !rc.servers[i].running() {
			continue
		}
		c := redis.NewClient(&redis.Options{Addr: a, DialTimeout: time.Second, MaxRetries: -1})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s, err := c.ClusterNodes(ctx).Result()
		cancel()
		c.Close()
		if err != nil {
			lastErr = err
			continue
		}
		var out []clusterNode
		for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
			f := strings.Fields(line)
			if len(f) < 8 {
				continue
			}
			n := clusterNode{id: f[0], addr: strings.Split(f[1], "@")[0], master: f[3],
				isMaster: strings.Contains(f[2], "master"), failed: strings.Contains(f[2], "fail")}
			for _, r := range f[8:] {
				lo, hi, ok := strings.Cut(r, "-")
				if !ok {
					hi = lo
				}
				a, err1 := strconv.Atoi(lo)
				b, err2 := strconv.Atoi(hi)
				if err1 == nil && err2 == nil {
					n.slots = append(n.slots, [2]int{a, b})
				}
			}
			out = append(out, n)
		}
		return out, nil
	}
	return nil, fmt.Errorf("no redis server answers CLUSTER NODES: %v", lastErr)
}

// keySlot asks a live server for key's slot.
func (rc *redisCluster) keySlot(key string) (int, error) {
	var lastErr error
	for i, a := range rc.addrs {
		if !rc.servers[i].running() {
			continue
		}
		c := redis.NewClient(&redis.Options{Addr: a, DialTimeout: time.Second, MaxRetries: -1})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		slot, err := c.ClusterKeySlot(ctx, key).Result()
		cancel()
		c.Close()
		if err == nil {
			return int(slot), nil
		}
		lastErr = err
	}
	return 0, fmt.Errorf("no redis server answers CLUSTER KEYSLOT: %v", lastErr)
}

// masterOf returns the live master serving slot.
func (rc *redisCluster) masterOf(slot int) (string, error) {
	nodes, err := rc.nodes()
	if err != nil {
		return "", err
	}
	for _, n := range nodes {
		if !n.isMaster || n.failed {
			continue
		}
		for _, r := range n.slots {
			if r[0] <= slot && slot <= r[1] {
				return n.addr, nil
			}
		}
	}
	return "", fmt.Errorf("no live master serves slot %d", slot)
}

// healthy reports whether every server runs, the cluster is ok, and
// every master has a live replica (so that a master may die).
func (rc *redisCluster) healthy() bool {
	for _, s := range rc.servers {
		if !s.running() {
			return false
		}
	}
	nodes, err := rc.nodes()
	if err != nil {
		return false
	}
	replicas := map[string]int{}
	masters := 0
	for _, n := range nodes {
		switch {
		case n.failed:
			return false
		case n.isMaster && len(n.slots) > 0:
			masters++
		case !n.isMaster:
			replicas[n.master]++
		}
	}
	for _, n := range nodes {
		if n.isMaster && len(n.slots) > 0 && replicas[n.id] == 0 {
			return false
		}
	}
	for i, a := range rc.addrs {
		if !rc.servers[i].running() {
			continue
		}
		c := redis.NewClient(&redis.Options{Addr: a, DialTimeout: time.Second, MaxRetries: -1})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		info, err := c.ClusterInfo(ctx).Result()
		cancel()
		c.Close()
		if err != nil || !strings.Contains(info, "cluster_state:ok") {
			return false
		}
	}
	return masters == len(rc.addrs)/2
}

func (rc *redisCluster) waitHealthy(timeout time.Duration) error {
	return waitFor("the redis cluster to be ok with a replica for every master", timeout, rc.healthy)
}

// server returns the process of the server at addr.
func (rc *redisCluster) server(addr string) *proc {
	for i, a := range rc.addrs {
		if a == addr {
			return rc.servers[i]
		}
	}
	return nil
}

func (rc *redisCluster) stop() {
	for _, s := range rc.servers {
		if s.running() {
			_ = s.stop(5 * time.Second)
		}
	}
}

// freePort returns a loopback port nobody listens on; for a Redis Cluster
// server (bus port = port + 10000) one below 55536.
func freePort(redisBus bool) (int, error) {
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !redisBus || port+10000 <= 65535 {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port")
}

// waitFor polls cond until it holds or timeout passes; the error says
// what was awaited.
func waitFor(what string, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}
