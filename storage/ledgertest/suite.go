// Package ledgertest is the conformance suite of storage.Ledger: every rule
// of docs/ledger.md as a named subtest. Each implementation runs it from its
// own tests:
//
//	func TestConformance(t *testing.T) {
//		path := filepath.Join(t.TempDir(), "ledger.db")
//		ledgertest.Run(t, func(t *testing.T) storage.Ledger {
//			l, err := embedded.Open(path, embedded.Config{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return l
//		})
//	}
//
// The suite never flushes the store: every subtest works in its own fresh
// account ("lt-" + random hex) with random hit ids, so it can run against a
// shared Redis. Op times are pinned to a fixed base plus offsets of at most a
// few days: a ledger that measures hit-id retention by op time never forgets
// a hit id during the suite.
package ledgertest

import (
	"testing"

	"github.com/pixelpost/pixelpost/storage"
)

// Run runs the conformance suite. open opens the ledger under test on the
// same durable state every time it is called (the same file, the same
// server) and fails t when it cannot. Run calls it once with its own t, runs
// the subtests sequentially, closes the ledger and calls open again (with
// the restart subtest's t) for the restart case, and closes the ledger at
// the end: open must not close what it returns in a t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) storage.Ledger) {
	t.Helper()
	h := &harness{open: open}
	h.ledger = open(t)
	defer func() {
		if h.ledger == nil {
			return
		}
		if err := h.ledger.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) { c.run(h.fixture(t)) })
	}
}

// harness holds the ledger under test across subtests; the restart case
// replaces it.
type harness struct {
	open   func(t *testing.T) storage.Ledger
	ledger storage.Ledger // nil after a failed reopen: later cases fail at once
}

// reopen closes the ledger and opens it again on the same state.
func (h *harness) reopen(t *testing.T) {
	t.Helper()
	l := h.ledger
	h.ledger = nil
	if err := l.Close(); err != nil {
		t.Fatalf("Close before reopen: %v", err)
	}
	h.ledger = h.open(t)
}

type testCase struct {
	name string
	run  func(f *fixture)
}

// cases lists every conformance case in the order they run.
func cases() []testCase {
	var all []testCase
	all = append(all, configCases()...)
	all = append(all, documentCases()...)
	all = append(all, s2sCases()...)
	all = append(all, statusCases()...)
	all = append(all, stateCases()...)
	all = append(all, leadCases()...)
	all = append(all, driftCases()...)
	all = append(all, registrationProfileCases()...)
	all = append(all, orderCases()...)
	all = append(all, tagCases()...)
	all = append(all, identityCases()...)
	all = append(all, registrationCases()...)
	all = append(all, dedupeCases()...)
	all = append(all, batchCases()...)
	all = append(all, eraseCases()...)
	all = append(all, restartCases()...)
	return all
}
