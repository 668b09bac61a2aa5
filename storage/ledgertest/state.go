package ledgertest

import (
	"github.com/pixelpost/pixelpost/storage"
)

// state dumps the fixture's account. Every ledger under the suite must be
// a storage.StateDumper: the suite and the differential tests compare
// whole states.
func (f *fixture) state() storage.AccountState {
	f.Helper()
	return f.stateOf(f.acct)
}

func (f *fixture) stateOf(acct string) storage.AccountState {
	f.Helper()
	d, ok := f.l.(storage.StateDumper)
	if !ok {
		f.Fatalf("%T is not a storage.StateDumper: the conformance suite reads whole states", f.l)
	}
	s, err := d.DumpAccount(f.ctx, acct)
	if err != nil {
		f.Fatalf("DumpAccount(%s): %v", acct, err)
	}
	return s
}
