// Command loadgen drives a pixel server with the bench mix and checks
// pixelpost's books afterwards. bench/run.sh is its user.
//
//	loadgen drive -addr 127.0.0.1:8080 -account acme -run r1 [-conns 64] [-duration 10s] [-rate 20000] [-browser]
//	loadgen s2s -addr 127.0.0.1:8080 -account acme -campaign camp -network net -secret S [-conns 64] [-duration 10s] [-token T | -metrics URL]
//	loadgen leads -addr 127.0.0.1:8080 -endpoint card -salt S [-conns 64] [-duration 10s]
//	loadgen idle -metrics http://127.0.0.1:8080/metrics
//	loadgen books -base http://127.0.0.1:8080 -token T -account acme -clickhouse DSN -n 12000,15000
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pixelpost/pixelpost/bench/load"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen drive|s2s|leads|idle|books [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "drive":
		err = drive(os.Args[2:])
	case "books":
		err = books(os.Args[2:])
	case "s2s":
		err = s2s(os.Args[2:])
	case "leads":
		err = leads(os.Args[2:])
	case "idle":
		err = idle(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func drive(args []string) error {
	fs := flag.NewFlagSet("drive", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "host:port of the server")
	account := fs.String("account", "bench", "account in the pixel URLs")
	run := fs.String("run", "r", "unique run id (order ids)")
	conns := fs.Int("conns", 64, "connections (closed loop) or workers (open loop)")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	rate := fs.Float64("rate", 0, "open loop at this many requests/s (0: closed loop, maximum throughput)")
	browser := fs.Bool("browser", false, "send a browser's <img> headers (Sec-Fetch-Dest: image, Accept: image/...)")
	_ = fs.Parse(args)
	o := load.Options{Conns: *conns, Duration: *duration, Rate: *rate}
	if *browser {
		o.Headers = load.BrowserHeaders
	}
	cpu0 := cpuSeconds()
	var res load.Result
	if *rate > 0 {
		// Open loop: the cheap raw generator, which wants request URIs.
		mix := &load.Mix{Account: *account, Run: *run}
		res = load.OpenLoop(*addr, mix.URL, o)
	} else {
		mix := &load.Mix{Base: "http://" + *addr, Account: *account, Run: *run}
		res = load.Drive(*addr, mix.URL, o)
	}
	cpu := cpuSeconds() - cpu0
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"sent": res.Sent, "ok": res.OK, "errors": res.Errors, "first_error": res.FirstErr,
		"elapsed_s": res.Elapsed.Seconds(), "rps": res.RPS,
		"p50_ms": ms(res.P50), "p99_ms": ms(res.P99), "p999_ms": ms(res.P999), "max_ms": ms(res.Max),
		"cpu_s": cpu, "cpu_us_per_req": cpu / float64(max(1, res.Sent)) * 1e6,
	})
}

// cpuSeconds is the user and system CPU time of this process: what the
// load generator itself costs the machine the servers share.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// idle waits until pixelpost applied and shipped every hit it answered and
// prints how many seconds that took.
func idle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	metrics := fs.String("metrics", "http://127.0.0.1:8080/metrics", "pixelpost's /metrics URL")
	_ = fs.Parse(args)
	start := time.Now()
	if err := load.WaitIdle(*metrics, 5*time.Minute); err != nil {
		return err
	}
	fmt.Printf("%.1f\n", time.Since(start).Seconds())
	return nil
}

// s2s drives clicks on a campaign, then postbacks for those clicks, and
// prints one JSON line per phase.
func s2s(args []string) error {
	fs := flag.NewFlagSet("s2s", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "host:port of pixelpost")
	account := fs.String("account", "bench", "account")
	campaign := fs.String("campaign", "bench", "campaign id")
	network := fs.String("network", "", "network id ('' for the generic postback names)")
	secret := fs.String("secret", "", "the network's secret")
	conns := fs.Int("conns", 64, "connections")
	duration := fs.Duration("duration", 10*time.Second, "how long each phase sends")
	metrics := fs.String("metrics", "", "pixelpost's /metrics URL: wait until the clicks are applied before the postbacks")
	token := fs.String("token", "", "admin token: wait for the clicks with POST /api/v1/flush instead of polling -metrics")
	_ = fs.Parse(args)
	sc := &load.S2S{Base: "http://" + *addr, Account: *account, Campaign: *campaign, Network: *network, Secret: *secret}
	clicks := load.Drive(*addr, sc.ClickURL, load.Options{Conns: *conns, Duration: *duration, Want: 302, OnResponse: sc.Clicked})
	if err := printPhase("clicks", clicks); err != nil || sc.Clicks() == 0 {
		return fmt.Errorf("no click answered (%v, first error %s)", err, clicks.FirstErr)
	}
	if *metrics != "" || *token != "" {
		// Postbacks are applied in log order, after the clicks before them:
		// measured right after a click flood they would time the backlog.
		start := time.Now()
		var err error
		if *token != "" {
			err = load.Flush(sc.Base, *token, 5*time.Minute)
		} else {
			err = load.WaitIdle(*metrics, 5*time.Minute)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "clicks applied %.1fs after the click phase\n", time.Since(start).Seconds())
	}
	pbs := load.Drive(*addr, sc.PostbackURL, load.Options{Conns: *conns, Duration: *duration})
	return printPhase("postbacks", pbs)
}

// leads drives the lead endpoint with valid, token-checked submissions.
func leads(args []string) error {
	fs := flag.NewFlagSet("leads", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "host:port of pixelpost")
	endpoint := fs.String("endpoint", "bench", "lead endpoint id")
	salt := fs.String("salt", "", "the endpoint's salt")
	conns := fs.Int("conns", 64, "connections")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	_ = fs.Parse(args)
	l := &load.Leads{Base: "http://" + *addr, Endpoint: *endpoint, Salt: *salt}
	return printPhase("leads", load.Drive(*addr, l.URL, load.Options{Conns: *conns, Duration: *duration}))
}

func printPhase(name string, r load.Result) error {
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"phase": name, "sent": r.Sent, "ok": r.OK, "errors": r.Errors, "first_error": r.FirstErr,
		"rps": r.RPS, "p50_ms": ms(r.P50), "p99_ms": ms(r.P99), "p999_ms": ms(r.P999),
	})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func books(args []string) error {
	fs := flag.NewFlagSet("books", flag.ExitOnError)
	base := fs.String("base", "http://127.0.0.1:8080", "pixelpost base URL")
	token := fs.String("token", "", "admin token")
	account := fs.String("account", "bench", "account")
	dsn := fs.String("clickhouse", "", "ClickHouse DSN (empty: rows are not checked)")
	ns := fs.String("n", "", "comma-separated request counts of the drives, in order")
	settle := fs.Duration("settle", 5*time.Minute, "how long pixelpost may take to catch up")
	_ = fs.Parse(args)
	var counts []int
	for _, s := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-n: %w", err)
		}
		counts = append(counts, n)
	}
	ctx := context.Background()
	b := load.Books{Base: *base, AdminToken: *token, Account: *account, Settle: *settle}
	if *dsn != "" {
		ch, err := clickhouse.Open(ctx, *dsn)
		if err != nil {
			return err
		}
		defer ch.Close()
		b.ClickHouse = ch
	}
	report, err := b.CheckRuns(ctx, counts)
	fmt.Print(report)
	if errors.Is(err, load.ErrUnbalanced) {
		return err
	}
	return err
}
