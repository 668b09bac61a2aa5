package redisledger

import (
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"

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
	rl, cl := openStandalone(t), openCluster(t)
	t.Cleanup(func() { _ = el.Close(); _ = rl.Close(); _ = cl.Close() })
	return []ledgertest.Subject{{Name: "embedded", Ledger: el}, {Name: "redis", Ledger: rl}, {Name: "cluster", Ledger: cl}}
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
			total.Add(ledgertest.Differential(t, rand.New(rand.NewPCG(seed, 13)), 250, subjects...))
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
		ledgertest.Differential(t, ledgertest.NewBytesSource(b), 400, subjects...)
	})
}
