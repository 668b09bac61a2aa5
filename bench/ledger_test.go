package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/bench/load"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/redisledger"
)

// BenchmarkLedgerRedis applies the load benchmark's pixel mix (new orders,
// refreshes, recurring charges) to the Redis ledger in batches of 512, as
// the pipeline's applier does (each op at its place in a hits log, the
// saved cursor a batch behind), and reports the Redis server's own CPU time
// per op (on a machine where Redis shares the cores with pixelpost, that
// is what the ledger costs the throughput), the memory the ledger's keys
// take per op (used_memory before and after) and the bytes its writes add
// to the append-only file per op (AOF rewrites are held off meanwhile, so
// the file only grows).
func BenchmarkLedgerRedis(b *testing.B) {
	url := os.Getenv("PIXELPOST_TEST_REDIS")
	if url == "" {
		b.Skip("PIXELPOST_TEST_REDIS is not set (scripts/services.sh)")
	}
	l, err := redisledger.OpenURL(url)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	opt, _ := redis.ParseURL(url)
	admin := redis.NewClient(opt)
	defer admin.Close()
	ctx := context.Background()
	acct := fmt.Sprintf("lb%d", time.Now().UnixNano())
	if err := l.PutAccount(ctx, storage.Account{ID: acct, DefaultCurrency: "USD"}); err != nil {
		b.Fatal(err)
	}
	const batch = 512
	held := holdAOFRewrites(b, admin)
	defer held()
	cpu0, mem0, aof0 := redisCPU(b, admin), redisInfo(b, admin, "memory", "used_memory"), redisInfo(b, admin, "persistence", "aof_current_size")
	calls0 := scriptCalls(b, admin)
	b.ResetTimer()
	goCPU0 := processCPU()
	applyMix(ctx, b, l, acct, batch)
	b.StopTimer()
	// The benchmark's own CPU: the ledger's Go side (decisions, cache,
	// encoding, the Redis client), which pixelpost pays per op.
	b.ReportMetric((processCPU()-goCPU0).Seconds()*1e6/float64(b.N), "go-µs/op")
	b.ReportMetric((redisCPU(b, admin)-cpu0)*1e6/float64(b.N), "redis-µs/op")
	b.ReportMetric((redisInfo(b, admin, "memory", "used_memory")-mem0)/float64(b.N), "redis-mem-B/op")
	b.ReportMetric((redisInfo(b, admin, "persistence", "aof_current_size")-aof0)/float64(b.N), "aof-B/op")
	batches := (b.N + batch - 1) / batch
	b.ReportMetric((scriptCalls(b, admin)-calls0)/float64(batches), "calls/batch")
}

// scriptCalls counts the server's script calls (EVALSHA and EVAL).
func scriptCalls(b *testing.B, c *redis.Client) float64 {
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var n float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		if k != "cmdstat_evalsha" && k != "cmdstat_eval" {
			continue
		}
		for _, f := range strings.Split(v, ",") {
			if calls, ok := strings.CutPrefix(f, "calls="); ok {
				x, _ := strconv.ParseFloat(calls, 64)
				n += x
			}
		}
	}
	return n
}

// holdAOFRewrites turns automatic AOF rewrites off (a rewrite would shrink
// the file mid-run) and returns what turns them back on.
func holdAOFRewrites(b *testing.B, c *redis.Client) func() {
	ctx := context.Background()
	old, err := c.ConfigGet(ctx, "auto-aof-rewrite-percentage").Result()
	if err != nil {
		b.Fatal(err)
	}
	if err := c.ConfigSet(ctx, "auto-aof-rewrite-percentage", "0").Err(); err != nil {
		b.Fatal(err)
	}
	return func() { c.ConfigSet(ctx, "auto-aof-rewrite-percentage", old["auto-aof-rewrite-percentage"]) }
}

// redisInfo is one numeric field of a section of INFO.
func redisInfo(b *testing.B, c *redis.Client, section, field string) float64 {
	info, err := c.Info(context.Background(), section).Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if k, v, _ := strings.Cut(line, ":"); k == field {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	b.Fatalf("INFO %s has no %s", section, field)
	return 0
}

// mixOp is request i of the load mix as the ledger op the server builds.
func mixOp(acct string, i int) storage.Op {
	k, j := load.KindOf(i)
	op := storage.Op{HitID: "h" + strconv.Itoa(i), Account: acct, Kind: storage.OpConversion,
		Time: time.Unix(1_800_000_000, int64(i)), Currency: "USD", HasAmount: true, Source: "pixel",
		AttendeeEmail: "c" + strconv.Itoa(j) + "@bench.example"}
	if k == load.Recurring {
		op.OrderID, op.Amount = "r"+strconv.Itoa(i), 19_990_000
	} else {
		op.OrderID, op.Amount = strconv.Itoa(j), 49_990_000
		op.Webinars = []string{"w" + strconv.Itoa(j%4)}
	}
	op.OrderKey, _ = attribution.OrderKey(attribution.OrderKeyInput{OrderID: op.OrderID,
		AttendeeID: attribution.EmailAttendeeID(op.AttendeeEmail), Webinars: op.Webinars,
		Amount: op.Amount, Currency: op.Currency})
	return op
}

// redisCPU is the server's used_cpu_sys + used_cpu_user, in seconds.
func redisCPU(b *testing.B, c *redis.Client) float64 {
	info, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return total
}

// BenchmarkLedgerRedisAOFRewrites applies the load mix to an emptied Redis
// with AOF rewrites left on at auto-aof-rewrite-percentage 100 (Redis's
// default), 400 and 800, and reports what Redis costs per op in all:
// its main thread, and its reaped rewrite children (INFO cpu's *_children,
// /proc/PID/stat's cutime and cstime), with the rewrites counted.
// auto-aof-rewrite-min-size is 1mb here so that a short run sees rewrites:
// the mix's dataset grows with the ops, so the amortised cost of a
// rewrite per op does not depend on the size at which they start, only on
// the percentage. It empties the Redis it is given (FLUSHALL): run it on
// the throw-away one of scripts/services.sh, e.g.
//
//	go test ./bench -run - -bench LedgerRedisAOFRewrites -benchtime 300000x
func BenchmarkLedgerRedisAOFRewrites(b *testing.B) {
	url := os.Getenv("PIXELPOST_TEST_REDIS")
	if url == "" {
		b.Skip("PIXELPOST_TEST_REDIS is not set (scripts/services.sh)")
	}
	for _, pct := range []string{"100", "400", "800"} {
		b.Run("pct="+pct, func(b *testing.B) {
			l, err := redisledger.OpenURL(url)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			opt, _ := redis.ParseURL(url)
			admin := redis.NewClient(opt)
			defer admin.Close()
			ctx := context.Background()
			old, err := admin.ConfigGet(ctx, "auto-aof-rewrite-*").Result()
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				for k, v := range old {
					admin.ConfigSet(ctx, k, v)
				}
			}()
			if err := admin.FlushAll(ctx).Err(); err != nil {
				b.Fatal(err)
			}
			waitNoRewrite(b, admin)
			if err := admin.BgRewriteAOF(ctx).Err(); err != nil { // the AOF starts from the empty dataset
				b.Fatal(err)
			}
			waitNoRewrite(b, admin)
			for k, v := range map[string]string{"auto-aof-rewrite-percentage": pct, "auto-aof-rewrite-min-size": "1mb"} {
				if err := admin.ConfigSet(ctx, k, v).Err(); err != nil {
					b.Fatal(err)
				}
			}
			acct := fmt.Sprintf("la%d", time.Now().UnixNano())
			if err := l.PutAccount(ctx, storage.Account{ID: acct, DefaultCurrency: "USD"}); err != nil {
				b.Fatal(err)
			}
			main0, kids0 := redisCPUSplit(b, admin)
			forks0 := redisInfo(b, admin, "stats", "total_forks")
			const batch = 512
			b.ResetTimer()
			applyMix(ctx, b, l, acct, batch)
			b.StopTimer()
			waitNoRewrite(b, admin) // a rewrite under way is charged to the run that caused it
			main1, kids1 := redisCPUSplit(b, admin)
			n := float64(b.N)
			b.ReportMetric((main1-main0)*1e6/n, "main-µs/op")
			b.ReportMetric((kids1-kids0)*1e6/n, "rewrite-µs/op")
			b.ReportMetric((main1-main0+kids1-kids0)*1e6/n, "redis-µs/op")
			b.ReportMetric(redisInfo(b, admin, "stats", "total_forks")-forks0, "rewrites")
			b.ReportMetric(redisInfo(b, admin, "persistence", "aof_current_size")/redisInfo(b, admin, "persistence", "aof_base_size"), "aof/base")
		})
	}
}

// redisCPUSplit is the server's CPU seconds: its own, and its reaped
// children's (AOF rewrites and RDB saves).
func redisCPUSplit(b *testing.B, c *redis.Client) (main, children float64) {
	f := func(k string) float64 { return redisInfo(b, c, "cpu", k) }
	return f("used_cpu_sys") + f("used_cpu_user"), f("used_cpu_sys_children") + f("used_cpu_user_children")
}

// waitNoRewrite waits until no AOF rewrite is under way or scheduled.
func waitNoRewrite(b *testing.B, c *redis.Client) {
	deadline := time.Now().Add(2 * time.Minute)
	for redisInfo(b, c, "persistence", "aof_rewrite_in_progress") != 0 ||
		redisInfo(b, c, "persistence", "aof_rewrite_scheduled") != 0 {
		if time.Now().After(deadline) {
			b.Fatal("an AOF rewrite still runs after 2 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// applyMix applies b.N ops of the bench mix to l in batches, as the
// applier does: each op has its log place, and the saved cursor (Kept)
// lags a batch behind.
func applyMix(ctx context.Context, b *testing.B, l storage.Ledger, acct string, batch int) {
	ops := make([]storage.Op, 0, batch)
	var kept, last uint64
	for i := 0; i < b.N; i++ {
		op := mixOp(acct, i)
		op.Log, op.Pos, op.Kept = "bench-log", uint64(i+1), kept
		ops = append(ops, op)
		if len(ops) == batch || i == b.N-1 {
			kept, last = last, op.Pos
			if _, err := l.Apply(ctx, ops); err != nil {
				b.Fatal(err)
			}
			ops = ops[:0]
		}
	}
}
