package drill

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// The faults the drill injects.
type faultKind int

const (
	faultNodeKill    faultKind = iota // kill -9 of a pixelpost node, restarted on its data dir
	faultRedisMaster                  // kill -9 of the Redis master of the account's slot
	faultCHShard                      // one ClickHouse shard stopped for 30 s
	faultWALFill                      // a node cut from Redis and flooded until its hits log is full
	faultRedisCut                     // a node cut from Redis for 10 s
)

var faultKinds = []faultKind{faultNodeKill, faultRedisMaster, faultCHShard, faultWALFill, faultRedisCut}

func (k faultKind) String() string {
	return [...]string{"kill -9 node", "kill -9 redis master", "clickhouse shard down", "hits log full", "node cut from redis"}[k]
}

// span is how long a fault takes from its start to its end, roughly: the
// schedule keeps it inside its round.
func (k faultKind) span() time.Duration {
	return [...]time.Duration{8 * time.Second, 16 * time.Second, 40 * time.Second, 15 * time.Second, 12 * time.Second}[k]
}

const (
	chShardDown = 30 * time.Second
	redisCutFor = 10 * time.Second
)

// fault is one injection: scheduled at an offset from the start, then
// what happened.
type fault struct {
	kind faultKind
	at   time.Duration // from the start of the load

	start, end time.Time // when it was injected and undone (restart, promotion, restore)
	recovered  time.Time // when every affected node was back to normal
	nodes      []string  // the nodes whose hits it delayed
	detail     string
	err        error

	delayed     int    // requests whose hits (or rows) waited because of it
	peakBacklog uint64 // bytes: the largest ledger backlog (ClickHouse lag for a shard) of an affected node
}

// settle is about how long the nodes take to catch up after k ends.
func (k faultKind) settle() time.Duration {
	return [...]time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 15 * time.Second, 10 * time.Second}[k]
}

// schedule spreads the faults over d: d is cut into rounds of about three
// minutes (one round at least), and each round gets one fault of each
// kind in a random order (seeded). When the round is long enough they
// come one after the other, at random times, each with time to recover
// before the next, so that the table says what each one did; in a short
// round (the 60-second drill) they start at independent random times
// and overlap, as faults do in production.
func schedule(d time.Duration, rng *rand.Rand) []*fault {
	rounds := max(1, int(d/(3*time.Minute)))
	roundLen := d / time.Duration(rounds)
	const lead, tail = 3 * time.Second, 5 * time.Second
	var out []*fault
	for r := range rounds {
		begin := time.Duration(r)*roundLen + lead
		kinds := slices.Clone(faultKinds)
		rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
		var need time.Duration
		for _, k := range kinds {
			need += k.span() + k.settle()
		}
		if slack := roundLen - lead - tail - need; slack >= 0 {
			gaps := make([]time.Duration, len(kinds))
			for i := range gaps {
				gaps[i] = time.Duration(rng.Int64N(int64(slack) + 1))
			}
			slices.Sort(gaps)
			at, prev := begin, time.Duration(0)
			for i, k := range kinds {
				at += gaps[i] - prev
				prev = gaps[i]
				out = append(out, &fault{kind: k, at: at.Round(100 * time.Millisecond)})
				at += k.span() + k.settle()
			}
			continue
		}
		for _, k := range kinds {
			at := begin
			if room := roundLen - lead - tail - k.span(); room > 0 {
				at += time.Duration(rng.Int64N(int64(room)))
			}
			out = append(out, &fault{kind: k, at: at.Round(100 * time.Millisecond)})
		}
	}
	slices.SortFunc(out, func(a, b *fault) int { return int(a.at - b.at) })
	return out
}

func (f *fault) String() string {
	s := f.kind.String()
	if f.detail != "" {
		s += " (" + f.detail + ")"
	}
	return s
}

// measure fills delayed and peakBacklog from the requests and the polls.
func (f *fault) measure(reqs []*request, names map[string]string, polls []round, killed string) {
	until := f.recovered
	if until.IsZero() {
		until = f.end
	}
	affected := map[string]bool{}
	for _, n := range f.nodes {
		affected[n] = true
	}
	for _, r := range reqs {
		if r.answered.Before(f.start) || r.answered.After(until) {
			continue
		}
		if f.kind == faultNodeKill {
			// Its hits could not go to the dead node: nginx retried them
			// elsewhere, or nobody answered.
			for _, u := range r.upstream {
				if names[u] == killed && (r.retried() || r.answeredBy() == "") {
					f.delayed++
					break
				}
			}
			continue
		}
		if by := r.answeredBy(); by != "" && affected[names[by]] {
			f.delayed++
		}
	}
	for _, p := range polls {
		if p.at.Before(f.start) || p.at.After(until) {
			continue
		}
		for n := range affected {
			s := p.nodes[n]
			v := s.backlog
			if f.kind == faultCHShard {
				v = s.lag
			}
			f.peakBacklog = max(f.peakBacklog, v)
		}
	}
}

// row is the fault's line of the table, its first column width wide.
func (f *fault) row(t0 time.Time, width int) string {
	when := f.start.Sub(t0)
	rec := "-"
	if !f.recovered.IsZero() {
		rec = fmt.Sprintf("%.1fs", f.recovered.Sub(f.end).Seconds())
	}
	if f.err != nil {
		rec = "FAILED: " + f.err.Error()
	}
	return fmt.Sprintf("%-*s %7s %13d %16s %16s", width, f, fmt.Sprintf("%d:%04.1f", int(when.Minutes()), when.Seconds()-60*float64(int(when.Minutes()))),
		f.delayed, fmt.Sprintf("%.0f KiB", float64(f.peakBacklog)/1024), rec)
}

// table is the fault table.
func table(faults []*fault, t0 time.Time) []string {
	width := len("fault")
	for _, f := range faults {
		width = max(width, len(f.String()))
	}
	lines := []string{fmt.Sprintf("%-*s %7s %13s %16s %16s", width, "fault", "when", "hits delayed", "longest backlog", "time to recover")}
	for _, f := range faults {
		lines = append(lines, f.row(t0, width))
	}
	return lines
}
