package drill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// chShard is one ClickHouse server of the cluster, started by
// scripts/services.sh (services_start_clickhouse_shards): the drill stops
// it and starts it again with the same config, keeping its pid where
// services_stop looks for it.
type chShard struct {
	addr    string // 127.0.0.1:port (native protocol)
	config  string // its config.xml
	pidFile string // services.sh's pid file
	proc    *proc  // set once the drill restarted it
}

// stop ends the server (SIGTERM, SIGKILL after 15 s) and waits for it.
func (s *chShard) stop() error {
	if s.proc != nil {
		return s.proc.stop(15 * time.Second)
	}
	b, err := os.ReadFile(s.pidFile)
	if err != nil {
		return fmt.Errorf("cannot read the pid of clickhouse %s: %w", s.addr, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("pid file %s: %w", s.pidFile, err)
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	gone := func() bool { return syscall.Kill(pid, 0) != nil }
	if waitFor("clickhouse "+s.addr+" to stop", 15*time.Second, gone) != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return waitFor("clickhouse "+s.addr+" to die", 10*time.Second, gone)
	}
	return nil
}

// start runs the server again on its config and waits until it answers.
func (s *chShard) start(work, name string) error {
	if s.proc == nil {
		s.proc = newProc(work, name, "clickhouse-server", "--config-file="+s.config)
	}
	if err := s.proc.start(); err != nil {
		return err
	}
	b, _ := os.ReadFile(s.proc.pidFile())
	_ = os.WriteFile(s.pidFile, b, 0o644)
	return waitFor("clickhouse "+s.addr+" to answer", 60*time.Second, func() bool { return s.query("SELECT 1") == nil })
}

// query runs one statement with clickhouse-client.
func (s *chShard) query(sql string) error {
	host, port, _ := strings.Cut(s.addr, ":")
	out, err := exec.Command("clickhouse-client", "--host", host, "--port", port, "--query", sql).CombinedOutput()
	if err != nil {
		return fmt.Errorf("clickhouse-client on %s: %v: %s", s.addr, err, out)
	}
	return nil
}

// createTables prints the cluster's DDL with pixelpost clickhouse-ddl and
// runs it on every shard, as the README tells an operator to.
func createTables(pixelpost, cluster, dsn string, shards []*chShard) error {
	ddl, err := exec.Command(pixelpost, "clickhouse-ddl", "--cluster", cluster, "--clickhouse-dsn", dsn).Output()
	if err != nil {
		return fmt.Errorf("pixelpost clickhouse-ddl: %w", err)
	}
	for _, s := range shards {
		host, port, _ := strings.Cut(s.addr, ":")
		cmd := exec.Command("clickhouse-client", "--host", host, "--port", port, "--multiquery")
		cmd.Stdin = bytes.NewReader(ddl)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("the DDL on %s: %v: %s", s.addr, err, out)
		}
	}
	return nil
}

// startNginx runs nginx as the load balancer: an upstream of the nodes,
// round robin, retrying a request on the next node when one cannot be
// reached (proxy_next_upstream error timeout). Each answer says which
// nodes were tried and what they answered (X-Drill-Upstream,
// X-Drill-Upstream-Status).
func startNginx(work string, port int, nodes []string) (*proc, error) {
	dir := filepath.Join(work, "nginx")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	var up strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&up, "    server %s max_fails=1 fail_timeout=2s;\n", n)
	}
	conf := fmt.Sprintf(`worker_processes 1;
error_log %[1]s/error.log warn;
pid %[1]s/nginx.pid;
events { worker_connections 2048; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp/body;
  proxy_temp_path %[1]s/tmp/proxy;
  fastcgi_temp_path %[1]s/tmp/fastcgi;
  uwsgi_temp_path %[1]s/tmp/uwsgi;
  scgi_temp_path %[1]s/tmp/scgi;
  upstream pixelpost {
%[2]s    keepalive 32;
  }
  server {
    listen 127.0.0.1:%[3]d;
    location / {
      proxy_pass http://pixelpost;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout;
      proxy_connect_timeout 1s;
      proxy_read_timeout 30s;
      add_header X-Drill-Upstream $upstream_addr always;
      add_header X-Drill-Upstream-Status $upstream_status always;
    }
  }
}
`, dir, up.String(), port)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p := newProc(work, "nginx", "nginx", "-p", dir, "-c", path, "-g", "daemon off;")
	if err := p.start(); err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	return p, waitFor("nginx to answer", 20*time.Second, func() bool { return httpOK(addr) })
}

// node is one pixelpost process.
type node struct {
	name    string
	addr    string // 127.0.0.1:port
	dataDir string
	proc    *proc
	proxies []*cutProxy // its Redis connections' proxies; nil: it dials Redis directly
}

type nodeOptions struct {
	pixelpost, token, dsn, chCluster string
	redis                            []string // the cluster's servers
	walMaxBytes                      int64    // 0: the default
	throughProxies                   bool     // reach Redis through cut proxies
}

func startNode(work, name string, o nodeOptions) (*node, error) {
	port, err := freePort(false)
	if err != nil {
		return nil, err
	}
	n := &node{name: name, addr: fmt.Sprintf("127.0.0.1:%d", port), dataDir: filepath.Join(work, name)}
	seeds := o.redis
	var nat []string
	if o.throughProxies {
		seeds = nil
		for _, a := range o.redis {
			p, err := newCutProxy(a)
			if err != nil {
				return n, err
			}
			n.proxies = append(n.proxies, p)
			seeds = append(seeds, p.addr)
			nat = append(nat, a+"="+p.addr)
		}
	}
	args := []string{"--listen", n.addr, "--data-dir", n.dataDir, "--admin-token", o.token,
		"--redis-cluster", strings.Join(seeds, ","), "--clickhouse-dsn", o.dsn, "--clickhouse-cluster", o.chCluster,
		"--log-level", "warn", "--allow-private-targets", "--shutdown-timeout", "5s"}
	if len(nat) > 0 {
		args = append(args, "--redis-cluster-nat", strings.Join(nat, ","))
	}
	if o.walMaxBytes > 0 {
		args = append(args, "--wal-max-bytes", strconv.FormatInt(o.walMaxBytes, 10))
	}
	n.proc = newProc(work, name, o.pixelpost, args...)
	if err := n.proc.start(); err != nil {
		return n, err
	}
	return n, n.waitUp()
}

func (n *node) waitUp() error {
	var exited bool
	err := waitFor(n.name+" to answer /healthz", 60*time.Second, func() bool {
		exited = !n.proc.running()
		return exited || httpOK("http://"+n.addr+"/healthz")
	})
	if exited {
		return fmt.Errorf("%s exited at start-up: see logs/%s.log", n.name, n.name)
	}
	return err
}

// cutRedis cuts the node off Redis; restoreRedis reconnects it.
func (n *node) cutRedis() {
	for _, p := range n.proxies {
		p.cut()
	}
}

func (n *node) restoreRedis() error {
	var errs []error
	for _, p := range n.proxies {
		errs = append(errs, p.restore())
	}
	return errors.Join(errs...)
}

func (n *node) close() {
	if n.proc != nil && n.proc.running() {
		_ = n.proc.stop(15 * time.Second)
	}
	for _, p := range n.proxies {
		p.close()
	}
}

func httpOK(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
