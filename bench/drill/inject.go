package drill

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// injector carries the faults out.
type injector struct {
	rc     *redisCluster
	shards []*chShard
	nodes  map[string]*node
	gen    *generator
	mon    *monitor
	rng    *rand.Rand
	work   string
	logf   func(string, ...any)

	mu         sync.Mutex
	lostBefore map[string]uint64 // hits a node reported lost before it was killed
	bg         sync.WaitGroup    // restarts still to come (killed Redis servers)
}

// accountKey is a key of the drill account: all its keys share its slot.
const accountKey = "pp:{drill}:account"

// inject runs f and waits for the nodes it affected to recover.
func (in *injector) inject(f *fault) {
	all := []string{cutNode, killNode, fillNode}
	var err error
	switch f.kind {
	case faultNodeKill:
		f.nodes = []string{killNode}
		err = in.killNode(f)
	case faultRedisMaster:
		f.nodes = all
		err = in.killRedisMaster(f)
	case faultCHShard:
		f.nodes = all
		err = in.stopShard(f)
	case faultWALFill:
		f.nodes = []string{fillNode}
		err = in.fillLog(f)
	case faultRedisCut:
		f.nodes = []string{cutNode}
		err = in.cutRedis(f)
	}
	if err != nil {
		f.err = err
		in.logf("FAULT FAILED: %s: %v", f, err)
		return
	}
	in.logf("%s: over after %.1fs; waiting for %s to recover", f, f.end.Sub(f.start).Seconds(), joinNames(f.nodes))
	f.recovered, f.err = in.mon.waitRecovered(f.end, f.nodes, 5*time.Minute)
	if f.err == nil {
		in.logf("%s: recovered %.1fs after it ended", f, f.recovered.Sub(f.end).Seconds())
	}
}

// wait waits for the restarts scheduled by the faults.
func (in *injector) wait() { in.bg.Wait() }

func (in *injector) killNode(f *fault) error {
	n := in.nodes[killNode]
	last := in.mon.poll().nodes[killNode]
	in.mu.Lock()
	in.lostBefore[killNode] += last.lost
	in.mu.Unlock()
	down := 3*time.Second + time.Duration(in.rng.Int64N(int64(2*time.Second)))
	if err := n.proc.kill9(); err != nil {
		return err
	}
	f.start = time.Now()
	in.logf("%s: kill -9 %s; restarting it on its data dir in %.1fs", f.kind, n.name, down.Seconds())
	time.Sleep(down)
	if err := n.proc.restart(); err != nil {
		return err
	}
	if err := n.waitUp(); err != nil {
		return err
	}
	f.end = time.Now()
	f.detail = fmt.Sprintf("%s, down %.1fs", n.name, f.end.Sub(f.start).Seconds())
	return nil
}

// killRedisMaster kills the master of the account's slot; its replica is
// promoted; the killed server comes back 10 s later as a replica.
func (in *injector) killRedisMaster(f *fault) error {
	// A master may only die when every master has a replica again.
	if err := in.rc.waitHealthy(2 * time.Minute); err != nil {
		return err
	}
	slot, err := in.rc.keySlot(accountKey)
	if err != nil {
		return err
	}
	addr, err := in.rc.masterOf(slot)
	if err != nil {
		return err
	}
	srv := in.rc.server(addr)
	if err := srv.kill9(); err != nil {
		return err
	}
	f.start = time.Now()
	in.logf("%s: kill -9 %s (master of the account's slot)", f.kind, addr)
	var promoted string
	if err := waitFor("the replica of "+addr+" to be promoted", time.Minute, func() bool {
		m, err := in.rc.masterOf(slot)
		promoted = m
		return err == nil && m != addr
	}); err != nil {
		return err
	}
	f.end = time.Now()
	f.detail = fmt.Sprintf("%s; %s promoted after %.1fs", addr, promoted, f.end.Sub(f.start).Seconds())
	in.bg.Add(1)
	go func() {
		defer in.bg.Done()
		time.Sleep(10 * time.Second)
		if err := srv.restart(); err != nil {
			in.logf("cannot restart redis %s: %v", addr, err)
			return
		}
		in.logf("redis %s restarted: it rejoins as a replica", addr)
	}()
	return nil
}

func (in *injector) stopShard(f *fault) error {
	i := in.rng.IntN(len(in.shards))
	s := in.shards[i]
	if err := s.stop(); err != nil {
		return err
	}
	f.start = time.Now()
	in.logf("%s: clickhouse shard %d (%s) stopped for %s", f.kind, i+1, s.addr, chShardDown)
	time.Sleep(chShardDown)
	if err := s.start(in.work, fmt.Sprintf("clickhouse-shard%d", i+1)); err != nil {
		return err
	}
	f.end = time.Now()
	f.detail = fmt.Sprintf("shard %d, %s, back after %.1fs", i+1, s.addr, f.end.Sub(f.start).Seconds())
	return nil
}

// fillLog cuts the full-log node from Redis and floods it (straight, not
// through nginx) until its hits log is at its cap; then sends it
// lostAtCap more hits, which it cannot record, and reconnects it.
func (in *injector) fillLog(f *fault) error {
	n := in.nodes[fillNode]
	n.cutRedis()
	f.start = time.Now()
	stop := make(chan struct{})
	sent := make(chan int, 1)
	go func() { sent <- in.gen.burst(n.addr, 8, stop) }()
	err := waitFor(n.name+"'s hits log to be full", 3*time.Minute, func() bool {
		return in.mon.poll().nodes[fillNode].status == "unavailable"
	})
	close(stop)
	burst := <-sent
	if err == nil {
		for range lostAtCap {
			burst += in.gen.burstOne(n.addr)
		}
	}
	lost := in.mon.poll().nodes[fillNode].lost
	if rerr := n.restoreRedis(); rerr != nil && err == nil {
		err = rerr
	}
	f.end = time.Now()
	f.detail = fmt.Sprintf("%s, %d hits sent to it directly, %d lost so far", n.name, burst, lost)
	return err
}

// lostAtCap is how many hits the drill sends a node whose hits log is
// full, besides the load balancer's share.
const lostAtCap = 100

func (in *injector) cutRedis(f *fault) error {
	n := in.nodes[cutNode]
	n.cutRedis()
	f.start = time.Now()
	in.logf("%s: %s cut from redis for %s", f.kind, n.name, redisCutFor)
	time.Sleep(redisCutFor)
	err := n.restoreRedis()
	f.end = time.Now()
	f.detail = fmt.Sprintf("%s, %s", n.name, redisCutFor)
	return err
}
