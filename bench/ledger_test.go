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
	ops := make([]storage.Op, 0, batch)
	held := holdAOFRewrites(b, admin)
	defer held()
	cpu0, mem0, aof0 := redisCPU(b, admin), redisInfo(b, admin, "memory", "used_memory"), redisInfo(b, admin, "persistence", "aof_current_size")
	calls0 := scriptCalls(b, admin)
	b.ResetTimer()
	goCPU0 := processCPU()
	var kept, last uint64 // the applier's saved cursor: a batch behind
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
