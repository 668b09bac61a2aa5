// Command drill runs pixelpost's fault drill (bench/drill.sh is its
// user): see package bench/drill.
//
//	drill -minutes 10 -pixelpost ./pixelpost -work DIR \
//	      -clickhouse NAME@host:port,host:port -clickhouse-configs a.xml,b.xml -clickhouse-pids a.pid,b.pid
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pixelpost/pixelpost/bench/drill"
)

func main() {
	minutes := flag.Float64("minutes", 10, "how long the load runs, in minutes")
	rate := flag.Float64("rate", 100, "requests per second through the load balancer")
	seed := flag.Uint64("seed", 0, "seed of the faults' times and the mix (0: from the clock, printed)")
	work := flag.String("work", "", "a fresh directory for data, logs and pid files")
	pixelpost := flag.String("pixelpost", "", "the pixelpost binary")
	ch := flag.String("clickhouse", "", "the ClickHouse cluster: NAME@host:port,host:port")
	configs := flag.String("clickhouse-configs", "", "each shard's config.xml, comma-separated")
	pids := flag.String("clickhouse-pids", "", "each shard's pid file, comma-separated")
	fullLog := flag.Int64("full-log-bytes", 1<<20, "--wal-max-bytes of the node whose hits log the drill fills")
	flag.Parse()
	if *work == "" || *pixelpost == "" || *ch == "" {
		fmt.Fprintln(os.Stderr, "drill: -work, -pixelpost and -clickhouse are required")
		os.Exit(2)
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := drill.Run(ctx, drill.Config{
		Duration: time.Duration(*minutes * float64(time.Minute)), Rate: *rate, Seed: *seed, Work: *work,
		Pixelpost: *pixelpost, ClickHouse: *ch, ClickHouseConfigs: strings.Split(*configs, ","),
		ClickHousePIDs: strings.Split(*pids, ","), FullLogBytes: *fullLog, Out: os.Stdout,
	})
	switch {
	case errors.Is(err, drill.ErrUnbalanced):
		fmt.Printf("\nDRILL FAILED: %v (seed %d)\n", err, *seed)
		os.Exit(1)
	case err != nil:
		fmt.Printf("\nDRILL COULD NOT RUN: %v (seed %d)\n", err, *seed)
		os.Exit(1)
	}
	fmt.Printf("drill passed (seed %d)\n", *seed)
}
