// Package drill is pixelpost's fault drill (bench/drill.sh): three nodes
// behind nginx, a Redis Cluster with replicas and a two-shard ClickHouse
// on loopback, the realistic mix at a fixed rate, and faults injected at
// random (seeded) times; afterwards reconcile --repair, then the books:
// every request answered is one row in ClickHouse (but the hits a node
// counted as lost, as it reported), every webinar's sales and revenue and
// every customer's lifetime value are what the mix implies, and nothing
// is doubled.
package drill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/pixelpost/pixelpost/storage/clickhouse"
)

// Config of a drill.
type Config struct {
	Duration time.Duration // how long the load runs
	Rate     float64       // requests per second through the load balancer
	Seed     uint64        // the faults' times, the mix
	Work     string        // a fresh directory for data, logs and pid files
	// Pixelpost is the path of the pixelpost binary.
	Pixelpost string
	// ClickHouse is the two-shard cluster scripts/services.sh started:
	// NAME@host:port,host:port, each shard's config.xml and pid file.
	ClickHouse        string
	ClickHouseConfigs []string
	ClickHousePIDs    []string
	// FullLogBytes is --wal-max-bytes of the node whose log the drill
	// fills (the server's minimum, 1 MiB, by default).
	FullLogBytes int64
	Out          io.Writer
}

// ErrUnbalanced: the books do not balance after the drill.
var ErrUnbalanced = errors.New("the books do not balance")

// setup names what the drill configures in pixelpost.
type setup struct {
	account, campaign, network, secret, endpoint, salt, token string
}

// Node roles: node1 is cut from Redis, node2 killed, node3 filled (its
// hits log has the smallest cap).
const (
	cutNode, killNode, fillNode = "node1", "node2", "node3"
	database                    = "pixelpost_drill"
)

// Run runs a drill and returns ErrUnbalanced (wrapped) when the books do
// not balance, another error when the drill itself could not run.
func Run(ctx context.Context, cfg Config) (err error) {
	out := cfg.Out
	logf := func(format string, a ...any) {
		fmt.Fprintf(out, "%s  %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed+1))
	name, addrs, ok := strings.Cut(cfg.ClickHouse, "@")
	shardAddrs := strings.Split(addrs, ",")
	if !ok || len(shardAddrs) != len(cfg.ClickHouseConfigs) || len(shardAddrs) != len(cfg.ClickHousePIDs) {
		return fmt.Errorf("clickhouse %q: want NAME@host:port,... with a config and a pid file per shard", cfg.ClickHouse)
	}
	var shards []*chShard
	for i, a := range shardAddrs {
		shards = append(shards, &chShard{addr: a, config: cfg.ClickHouseConfigs[i], pidFile: cfg.ClickHousePIDs[i]})
	}
	dsn := fmt.Sprintf("clickhouse://%s/%s", shardAddrs[0], database)
	// The nodes name every server of the cluster: one that (re)starts while
	// a shard is down connects through another.
	nodeDSN := fmt.Sprintf("clickhouse://%s/%s", strings.Join(shardAddrs, ","), database)

	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()

	logf("redis cluster: 3 masters, 1 replica each, AOF everysec, cluster-node-timeout %d ms", clusterNodeTimeout)
	rc, err := startRedisCluster(cfg.Work, 3)
	stops = append(stops, rc.stop)
	if err != nil {
		return err
	}
	logf("clickhouse: cluster %s, shards %v; tables from pixelpost clickhouse-ddl", name, shardAddrs)
	if err := createTables(cfg.Pixelpost, name, dsn, shards); err != nil {
		return err
	}

	st := setup{account: "drill", campaign: "drillcamp", network: "net", secret: "drill-secret",
		endpoint: "drillcard", salt: "drill-salt", token: fmt.Sprintf("drill-admin-token-%d", cfg.Seed)}
	opts := nodeOptions{pixelpost: cfg.Pixelpost, token: st.token, dsn: nodeDSN, chCluster: name, redis: rc.addrs}
	var nodes []*node
	byName := map[string]*node{}
	for _, n := range []string{cutNode, killNode, fillNode} {
		o := opts
		o.throughProxies = n != killNode
		if n == fillNode {
			o.walMaxBytes = cfg.FullLogBytes
		}
		nd, err := startNode(cfg.Work, n, o)
		if nd != nil {
			stops = append(stops, nd.close)
		}
		if err != nil {
			return err
		}
		nodes, byName[n] = append(nodes, nd), nd
	}
	names := map[string]string{} // address -> node name
	var upstream []string
	for _, n := range nodes {
		names[n.addr] = n.name
		upstream = append(upstream, n.addr)
	}
	logf("nodes: %s %s (reaches redis through cut proxies), %s %s (killed), %s %s (hits log capped at %d bytes, through cut proxies)",
		cutNode, byName[cutNode].addr, killNode, byName[killNode].addr, fillNode, byName[fillNode].addr, cfg.FullLogBytes)
	lbPort, err := freePort(false)
	if err != nil {
		return err
	}
	ng, err := startNginx(cfg.Work, lbPort, upstream)
	if ng != nil {
		stops = append(stops, func() { _ = ng.stop(5 * time.Second) })
	}
	if err != nil {
		return err
	}
	lb := fmt.Sprintf("http://127.0.0.1:%d", lbPort)
	logf("nginx: %s, upstream round robin over the nodes, proxy_next_upstream error timeout", lb)

	sink, delivered, err := startSink()
	if err != nil {
		return err
	}
	stops = append(stops, func() { sink.Close() })
	if err := configure("http://"+byName[cutNode].addr, st, sink.Addr().String()); err != nil {
		return err
	}

	mon := newMonitor(nodes)
	mctx, mstop := context.WithCancel(context.Background())
	var mwg sync.WaitGroup
	mwg.Add(1)
	go func() { defer mwg.Done(); mon.run(mctx) }()
	stops = append(stops, func() { mstop(); mwg.Wait() })

	customers := max(300, int(cfg.Duration.Minutes()*300))
	gen := newGenerator(lb, cfg.Seed, customers, st)
	faults := schedule(cfg.Duration, rng)
	logf("load: %.0f requests/s for %s; %d customers; %d faults (seed %d):", cfg.Rate, cfg.Duration, customers, len(faults), cfg.Seed)
	for _, f := range faults {
		logf("  at %5.1fs %s", f.at.Seconds(), f.kind)
	}

	inj := &injector{rc: rc, shards: shards, nodes: byName, gen: gen, mon: mon, rng: rng, work: cfg.Work, logf: logf,
		lostBefore: map[string]uint64{}}
	t0 := time.Now()
	lctx, lstop := context.WithTimeout(ctx, cfg.Duration)
	defer lstop()
	clicksConn, err := chConn(dsn)
	if err != nil {
		return err
	}
	defer clicksConn.Close()
	var cwg sync.WaitGroup
	cwg.Add(2)
	go func() { defer cwg.Done(); gen.confirm(lctx) }()
	go func() { defer cwg.Done(); gen.confirmClicks(lctx, clicksConn) }()
	var fwg sync.WaitGroup
	for _, f := range faults {
		fwg.Add(1)
		go func() {
			defer fwg.Done()
			select {
			case <-time.After(time.Until(t0.Add(f.at))):
			case <-ctx.Done():
				return
			}
			inj.inject(f)
		}()
	}
	gen.drive(lctx, cfg.Rate)
	cwg.Wait()
	logf("load stopped after %s: %d requests; waiting for the faults to end", time.Since(t0).Round(time.Second), len(gen.requests()))
	fwg.Wait()
	inj.wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, f := range faults {
		if f.err != nil || f.start.IsZero() {
			// No books without every fault carried out: say which failed.
			for _, l := range table(faults, t0) {
				fmt.Fprintln(out, l)
			}
			return fmt.Errorf("%w: a fault could not be carried out: %s: %v", ErrUnbalanced, f.kind, f.err)
		}
	}
	logf("waiting for every node to apply and ship its backlog")
	if err := waitFor("every node to be ready with no backlog and no ClickHouse lag", 10*time.Minute, func() bool {
		if ctx.Err() != nil {
			return true // stopped: Run returns below
		}
		r := mon.poll()
		for _, n := range nodes {
			s := r.nodes[n.name]
			if !s.up || s.status != "ready" || s.backlog != 0 || s.lag != 0 {
				return false
			}
		}
		return true
	}); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	final := mon.latest()

	logf("pixelpost reconcile --repair (source: ClickHouse, through the Distributed table)")
	rep, repErr := reconcile(cfg, name, dsn, rc.addrs)
	for _, line := range strings.Split(strings.TrimSpace(rep), "\n") {
		fmt.Fprintln(out, "    "+line)
	}

	ch, err := clickhouse.Connect(context.Background(), clickhouse.Config{DSN: dsn, Cluster: name})
	if err != nil {
		return err
	}
	defer ch.Close()
	rows, orphans, err := readRows(context.Background(), ch, st.account)
	if err != nil {
		return err
	}
	reqs := gen.requests()
	a := auditRows(reqs, rows, names)
	a.orphanRows = orphans
	reported := map[string]uint64{}
	for _, n := range nodes {
		reported[n.name] = final.nodes[n.name].lost + inj.lostBefore[n.name]
	}
	balanced := repErr == nil
	fmt.Fprintln(out, "\n== books")
	lines, ok := a.summary(reported)
	balanced = balanced && ok
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	want := expect(reqs, rows)
	lc := ledgerClient{base: lb, token: st.token, account: st.account, client: &http.Client{Timeout: 30 * time.Second}}
	lines, bad, err := compareLedger(context.Background(), lc, want, customers)
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
	balanced = balanced && len(bad) == 0
	fmt.Fprintf(out, "outbound postbacks delivered to the traffic source: %d\n", delivered.Load())
	byKind := map[kind]int{}
	for _, r := range reqs {
		byKind[r.kind]++
	}
	fmt.Fprintf(out, "mix: %d new orders, %d refreshes, %d renewals, %d clicks, %d postbacks, %d leads\n",
		byKind[kindNew], byKind[kindRefresh], byKind[kindRecurring], byKind[kindClick], byKind[kindPostback], byKind[kindLead])

	fmt.Fprintln(out, "\n== faults")
	polls := mon.after(t0)
	for _, f := range faults {
		f.measure(reqs, names, polls, killNode)
		if f.err != nil || f.start.IsZero() {
			balanced = false // every fault must have been injected
		}
	}
	for _, l := range table(faults, t0) {
		fmt.Fprintln(out, l)
	}
	fmt.Fprintln(out, `hits delayed: requests answered by the affected nodes from the fault until they recovered, whose
  hits waited in a log (a node kill: requests nginx had to send elsewhere or that got no answer);
longest backlog: the largest ledger backlog of an affected node (ClickHouse lag for a shard);
time to recover: from the end of the fault (restart, promotion, reconnection) until every affected
  node was ready again with nothing queued (overlapping faults lengthen each other's)`)
	if !balanced {
		if repErr != nil {
			return fmt.Errorf("%w: reconcile: %v", ErrUnbalanced, repErr)
		}
		return ErrUnbalanced
	}
	fmt.Fprintln(out, "\nbooks balance: zero lost but what the full node reported, zero doubled")
	return nil
}

// configure creates the account, its webinars, an S2S campaign with its
// traffic source and network, and a lead endpoint, through node's API.
func configure(base string, st setup, sink string) error {
	put := func(path, body string) error {
		req, _ := http.NewRequest("PUT", base+"/api/v1/accounts/"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+st.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("PUT %s: %d %s", path, resp.StatusCode, b)
		}
		return nil
	}
	a := st.account
	steps := [][2]string{
		{a, `{"name":"Drill","default_currency":"USD"}`},
		{a + "/sources/src", fmt.Sprintf(`{"postback_url":"http://%s/pb?tag={external_id}&value={payout}"}`, sink)},
		{a + "/networks/" + st.network, fmt.Sprintf(`{"preset":"generic","secret":%q}`, st.secret)},
		{a + "/campaigns/" + st.campaign, fmt.Sprintf(`{"source_id":"src","network_id":%q,"offer_url":"https://offer.example/?s1={clickid}&z={zone_id}"}`, st.network)},
		{a + "/lead-endpoints/" + st.endpoint, fmt.Sprintf(`{"salt":%q}`, st.salt)},
	}
	for w := range webinars {
		steps = append(steps, [2]string{fmt.Sprintf("%s/webinars/w%d", a, w), fmt.Sprintf(`{"name":"Webinar %d"}`, w)})
	}
	for _, s := range steps {
		if err := put(s[0], s[1]); err != nil {
			return err
		}
	}
	return nil
}

// startSink is the traffic source receiving outbound postbacks.
func startSink() (net.Listener, *atomic.Int64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	n := &atomic.Int64{}
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			_, _ = io.WriteString(w, "ok")
		}))
	}()
	return ln, n, nil
}

// reconcile runs pixelpost reconcile --repair against the cluster and
// returns its report; the error says the ledger still differs (or the
// command failed).
func reconcile(cfg Config, cluster, dsn string, redisAddrs []string) (string, error) {
	var buf bytes.Buffer
	cmd := exec.Command(cfg.Pixelpost, "reconcile", "--repair", "--redis-cluster", strings.Join(redisAddrs, ","),
		"--clickhouse-dsn", dsn, "--clickhouse-cluster", cluster, "--data-dir", filepath.Join(cfg.Work, "reconcile"))
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 2 {
		return buf.String(), errors.New("differences remain after --repair")
	}
	if err != nil {
		return buf.String(), fmt.Errorf("pixelpost reconcile: %w", err)
	}
	return buf.String(), nil
}

// chConn is a plain connection to the Distributed table (prefer_localhost_replica=0,
// as pixelpost's own), for the click confirmer.
func chConn(dsn string) (driver.Conn, error) {
	opts, err := ch.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	opts.Settings = ch.Settings{"prefer_localhost_replica": 0}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to clickhouse: %w", err)
	}
	return conn, nil
}
