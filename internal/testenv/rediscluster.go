package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ReplicaCluster is a private Redis Cluster on loopback with replicas, for
// tests that kill its servers (the shared PIXELPOST_TEST_REDIS_CLUSTER has
// no replica and other tests use it). It stops at test end.
type ReplicaCluster struct {
	t     testing.TB
	dir   string
	Addrs []string // every server, host:port; the first masters ones are the masters at start
	procs map[string]*exec.Cmd
}

// StartReplicaCluster starts masters masters with replicas replicas each
// (redis-server with AOF everysec, noeviction, cluster-node-timeout
// nodeTimeout) and waits until the cluster is ok. It needs redis-server
// and redis-cli (skipped when missing, a failure under CI=true).
func StartReplicaCluster(t testing.TB, masters, replicas int, nodeTimeout time.Duration) *ReplicaCluster {
	t.Helper()
	server := Binary(t, "redis-server")
	cli := Binary(t, "redis-cli")
	c := &ReplicaCluster{t: t, dir: t.TempDir(), procs: map[string]*exec.Cmd{}}
	t.Cleanup(c.stop)
	for range masters * (1 + replicas) {
		// The cluster bus listens on port+10000: a server whose bus port
		// is taken never answers.
		port := FreePort(t)
		for !portFree(port + 10000) {
			port = FreePort(t)
		}
		c.Addrs = append(c.Addrs, "127.0.0.1:"+strconv.Itoa(port))
	}
	for _, addr := range c.Addrs {
		c.start(server, addr, nodeTimeout)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitOK(2 * time.Minute) // generous: CI machines are loaded
	return c
}

func (c *ReplicaCluster) start(server, addr string, nodeTimeout time.Duration) {
	c.t.Helper()
	_, port, _ := strings.Cut(addr, ":")
	dir := filepath.Join(c.dir, port)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(server, "--port", port, "--bind", "127.0.0.1", "--dir", dir,
		"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
		"--cluster-node-timeout", strconv.Itoa(int(nodeTimeout/time.Millisecond)),
		"--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction",
		"--save", "", "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("cannot start redis-server on %s: %v", addr, err)
	}
	c.procs[addr] = cmd
	c.waitFor("redis-server on "+addr+" to answer", time.Minute, func() bool {
		return c.cli(addr, "ping") == "PONG"
	}, filepath.Join(dir, "redis.log"))
}

// portFree reports whether a port can be listened on now (and is one).
func portFree(port int) bool {
	if port > 65535 {
		return false
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// cli runs redis-cli against one server and returns its trimmed output.
func (c *ReplicaCluster) cli(addr string, args ...string) string {
	host, port, _ := strings.Cut(addr, ":")
	out, _ := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...).Output()
	return strings.TrimSpace(string(out))
}

// MasterOf returns the address of the master serving key's slot, as the
// live servers see it.
func (c *ReplicaCluster) MasterOf(key string) string {
	c.t.Helper()
	for _, addr := range c.Addrs {
		if c.procs[addr] == nil {
			continue
		}
		slot := c.cli(addr, "cluster", "keyslot", key)
		for _, line := range strings.Split(c.cli(addr, "cluster", "nodes"), "\n") {
			f := strings.Fields(line)
			if len(f) < 9 || !strings.Contains(f[2], "master") || strings.Contains(f[2], "fail") {
				continue
			}
			n, _ := strconv.Atoi(slot)
			for _, r := range f[8:] {
				lo, hi, ok := strings.Cut(r, "-")
				if !ok {
					hi = lo
				}
				a, err1 := strconv.Atoi(lo)
				b, err2 := strconv.Atoi(hi)
				if err1 == nil && err2 == nil && a <= n && n <= b {
					return strings.Split(f[1], "@")[0]
				}
			}
		}
		break
	}
	c.t.Fatalf("no master serves %q", key)
	return ""
}

// WaitReplicated waits until every replica of the master at addr has
// every write the master has (so that killing it loses nothing).
func (c *ReplicaCluster) WaitReplicated(addr string) {
	c.t.Helper()
	c.waitFor("the replicas of "+addr+" to catch up", time.Minute, func() bool {
		var master string
		offsets := 0
		for _, line := range strings.Split(c.cli(addr, "info", "replication"), "\n") {
			line = strings.TrimSpace(line)
			if v, ok := strings.CutPrefix(line, "master_repl_offset:"); ok {
				master = v
			}
		}
		for _, line := range strings.Split(c.cli(addr, "info", "replication"), "\n") {
			if strings.HasPrefix(line, "slave") && strings.Contains(line, "offset=") {
				if !strings.Contains(line, "offset="+master+",") {
					return false
				}
				offsets++
			}
		}
		return master != "" && offsets > 0
	})
}

// ReplicaOf returns the address of a live replica of the master at addr.
func (c *ReplicaCluster) ReplicaOf(addr string) string {
	c.t.Helper()
	var id string
	lines := strings.Split(c.cli(addr, "cluster", "nodes"), "\n")
	for _, line := range lines {
		if f := strings.Fields(line); len(f) > 2 && strings.Contains(f[2], "myself") {
			id = f[0]
		}
	}
	for _, line := range lines {
		if f := strings.Fields(line); len(f) > 3 && f[3] == id && strings.Contains(f[2], "slave") {
			return strings.Split(f[1], "@")[0]
		}
	}
	c.t.Fatalf("%s has no replica", addr)
	return ""
}

// DropReplicas closes the master's connections to its replicas (CLIENT
// KILL TYPE replica): a paused replica cannot connect again, and misses
// every write the master takes meanwhile.
func (c *ReplicaCluster) DropReplicas(master string) {
	c.t.Helper()
	if n := c.cli(master, "client", "kill", "type", "replica"); n == "" || n == "0" {
		c.t.Fatalf("%s had no replica connection to drop (%q)", master, n)
	}
}

// Pause stops a server (SIGSTOP) without killing it; Resume lets it run
// again.
func (c *ReplicaCluster) Pause(addr string)  { _ = c.procs[addr].Process.Signal(syscall.SIGSTOP) }
func (c *ReplicaCluster) Resume(addr string) { _ = c.procs[addr].Process.Signal(syscall.SIGCONT) }

// Kill stops a server with SIGKILL (no shutdown, no last AOF write).
func (c *ReplicaCluster) Kill(addr string) {
	c.t.Helper()
	cmd := c.procs[addr]
	if cmd == nil {
		c.t.Fatalf("%s is not running", addr)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	c.procs[addr] = nil
}

// WaitOK waits until every live server reports cluster_state:ok and
// agrees that every slot has a master that is not failed.
func (c *ReplicaCluster) WaitOK(timeout time.Duration) {
	c.t.Helper()
	c.waitFor("the cluster to be ok", timeout, func() bool {
		for addr, p := range c.procs {
			if p == nil {
				continue
			}
			if !strings.Contains(c.cli(addr, "cluster", "info"), "cluster_state:ok") {
				return false
			}
		}
		return true
	})
}

// waitFor polls cond until timeout; on failure it shows the tail of the
// logs named (a server that could not start says why there).
func (c *ReplicaCluster) waitFor(what string, timeout time.Duration, cond func() bool, logs ...string) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			var tail string
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				tail += fmt.Sprintf("\n%s:\n%s", l, b[max(0, len(b)-2000):])
			}
			c.t.Fatalf("timed out after %s waiting for %s%s", timeout, what, tail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *ReplicaCluster) stop() {
	for addr, cmd := range c.procs {
		if cmd != nil {
			_ = cmd.Process.Signal(syscall.SIGCONT)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
		}
		delete(c.procs, addr)
	}
}

// String lists the servers, for messages.
func (c *ReplicaCluster) String() string { return fmt.Sprint(c.Addrs) }
