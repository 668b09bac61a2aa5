package redisledger

import (
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/embedded"
	"github.com/pixelpost/pixelpost/storage/ledgertest"
)

// differentialSubjects are the three ledgers the differential tests
// compare: the embedded one (the reference: it calls attribution and
// storage's rules itself), Redis and Redis Cluster.
func differentialSubjects(t testing.TB) []ledgertest.Subject {
	t.Helper()
	el, err := embedded.Open(filepath.Join(t.TempDir(), "ledger.db"), embedded.Config{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	rl, cl := openStandaloneDB(t, differentialDB), openCluster(t)
	t.Cleanup(func() { _ = el.Close(); _ = rl.Close(); _ = cl.Close() })
	return []ledgertest.Subject{{Name: "embedded", Ledger: el}, {Name: "redis", Ledger: rl}, {Name: "cluster", Ledger: cl}}
}

// differentialDB is the standalone server's database of the differential
// and three-node tests: a dump scans the keyspace, which the other tests
// of the run fill (a cluster has only database 0).
const differentialDB = 9

// openStandaloneDB opens a ledger on database db of the standalone server.
func openStandaloneDB(t testing.TB, db int) *Ledger {
	t.Helper()
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	opt.DB = db
	l := New(redis.NewClient(opt), Config{})
	l.ownsClient = true
	return l
}

// differentialOps is how many ops the fixed-seed run applies at least: in
// CI, every push.
const differentialOps = 20_000

// TestLedgersAgree runs fixed-seed random sequences of every op kind on
// the embedded ledger, Redis and Redis Cluster, comparing every result and
// the whole state of the account after every step
// (ledgertest.Differential), until differentialOps ops were applied. The
// results seen are counted, so a generator that stops reaching a rule
// shows.
func TestLedgersAgree(t *testing.T) {
	subjects := differentialSubjects(t)
	start := time.Now()
	var total ledgertest.Tally
	for seed := uint64(1); total.Ops < differentialOps; seed++ {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			tally := ledgertest.Differential(t, rand.New(rand.NewPCG(seed, 13)), 250, subjects...)
			forget(t, redisSubjects(subjects), tally.Accounts)
			total.Add(tally)
		})
		if t.Failed() {
			return
		}
	}
	for _, k := range []string{
		"accepted/", "updated/", "duplicate/same_order", "duplicate/replayed_hit", "duplicate/already_registered",
		"duplicate/same_profile", "duplicate/same_conversion",
		"rejected/currency_mismatch", "rejected/no_webinar", "rejected/no_attendee", "rejected/erased",
		"rejected/unknown_click", "rejected/expired_click", "rejected/bad_transition", "rejected/wrong_network",
		"rejected/pixel_conversions_disabled", "rejected/unknown_account", "rejected/" + reasonInvalidOp,
	} {
		if total.Results[k] == 0 {
			t.Errorf("no %s result in %d ops: the generator no longer reaches that rule", k, total.Ops)
		}
	}
	t.Logf("%d ops in %d steps, in %v; results: %v", total.Ops, total.Steps, time.Since(start).Round(time.Millisecond), total.Results)
}

// FuzzLedgers is the differential test driven by a fuzzer: each input is a
// sequence of choices (ledgertest.BytesSource) played on the three
// ledgers. go test runs the seeds; go test -fuzz FuzzLedgers explores.
func FuzzLedgers(f *testing.F) {
	for seed := range uint64(4) {
		b := make([]byte, 2048)
		r := rand.New(rand.NewPCG(seed, 7))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{11, 0, 0, 3})
	subjects := differentialSubjects(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		tally := ledgertest.Differential(t, ledgertest.NewBytesSource(b), 60, subjects...)
		forget(t, redisSubjects(subjects), tally.Accounts)
	})
}

// redisSubjects are the Redis ledgers among subjects.
func redisSubjects(subjects []ledgertest.Subject) []*Ledger {
	var out []*Ledger
	for _, s := range subjects {
		if l, ok := s.Ledger.(*Ledger); ok {
			out = append(out, l)
		}
	}
	return out
}

// forget deletes accounts a passed test made (their keys and their claims
// of global ids), so that the scans of later dumps stay short. A failed
// test keeps them, to look at.
func forget(t *testing.T, ledgers []*Ledger, accounts []string) {
	t.Helper()
	if t.Failed() {
		return
	}
	ctx := t.Context()
	for _, l := range ledgers {
		for _, acct := range accounts {
			keys, node, err := l.accountKeys(ctx, acct)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(keys); i += 500 {
				if err := node.Del(ctx, keys[i:min(i+500, len(keys))]...).Err(); err != nil {
					t.Fatalf("cannot delete the keys of %s: %v", acct, err)
				}
			}
			for kind := range storage.GlobalKinds {
				owners, err := l.c.HGetAll(ctx, routesKey(kind)).Result()
				if err != nil {
					t.Fatal(err)
				}
				for id, owner := range owners {
					if owner == acct {
						l.c.HDel(ctx, routesKey(kind), id)
					}
				}
			}
		}
	}
}
