package embedded_test

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/storage"
)

// Exactly once by log position: the ledger keeps no memory per hit (the
// earlier builds kept every hit id for 35 days), only a mark per log and
// the results of the ops the applier's saved cursor has not passed.
func TestReplaysRecognisedByLogPositionWithoutHitMemory(t *testing.T) {
	l, path := newLedger(t)
	const n = 200
	ops := make([]storage.Op, n)
	for i := range ops {
		ops[i] = logged(conv(fmt.Sprintf("h%03d", i), fmt.Sprintf("o%03d", i), base), "L", uint64(i+1))
	}
	apply(t, l, ops...)

	// A replay is the same record of the same log: recognised whatever
	// its hit id, with the result its first application had.
	again := ops[7]
	again.HitID = "another-id"
	r := apply(t, l, again)[0]
	if r.Reason != storage.ReasonReplayedHit || r.Original == nil || r.Original.Status != storage.StatusAccepted {
		t.Fatalf("replay at a position below the mark: %+v", r)
	}
	// An op above the mark is new, whatever its hit id.
	fresh := logged(conv("h000", "o-new", base), "L", n+1)
	if r := apply(t, l, fresh)[0]; r.Status != storage.StatusAccepted {
		t.Fatalf("op above the mark with a hit id seen before: %+v", r)
	}
	// Another log has its own mark.
	if r := apply(t, l, logged(conv("h001", "o-other", base), "M", 1))[0]; r.Status != storage.StatusAccepted {
		t.Fatalf("first op of another log: %+v", r)
	}
	// The applier's saved cursor passed everything: the kept results go,
	// and a replay is still recognised, without its original result.
	last := logged(conv("h-last", "o-last", base), "L", n+2)
	last.Kept = n + 2
	apply(t, l, last)
	if r := apply(t, l, ops[7])[0]; r.Reason != storage.ReasonReplayedHit || r.Original != nil {
		t.Fatalf("replay after the cursor passed it: %+v, want replayed_hit without original", r)
	}
	if got := sales(t, l); got != n+3 {
		t.Fatalf("sales = %d, want %d", got, n+3)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// What the file holds per hit: nothing in the hit-id buckets, no
	// result left for the log the cursor passed.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket([]byte("hits")).Stats().KeyN; n != 0 {
			t.Errorf("hits bucket holds %d hit ids, want none", n)
		}
		acct := tx.Bucket([]byte("accounts")).Bucket([]byte("acct"))
		results := acct.Bucket([]byte("results"))
		if results == nil {
			t.Fatal("no results bucket")
		}
		kept := 0
		results.ForEach(func(k, _ []byte) error {
			if k[0] == 1 && k[1] == 'L' {
				kept++
			}
			return nil
		})
		if kept != 0 {
			t.Errorf("%d results of log L kept after the cursor passed them", kept)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// seedHitIDs writes hit ids as an earlier build remembered them (hits and
// hitdays buckets), with an accepted result.
func seedHitIDs(t *testing.T, path, account string, at time.Time, ids ...string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	day := at.Unix() / 86400
	dayKey := binary.BigEndian.AppendUint64(nil, uint64(day)^(1<<63))
	res := storage.Result{Status: storage.StatusAccepted, Delta: 10_000_000, Credited: []string{"w1"}}
	err = db.Update(func(tx *bolt.Tx) error {
		days, err := tx.Bucket([]byte("hitdays")).CreateBucketIfNotExists(dayKey)
		if err != nil {
			return err
		}
		for _, id := range ids {
			k := append(binary.AppendUvarint(nil, uint64(len(account))), account...)
			k = append(k, id...)
			if err := tx.Bucket([]byte("hits")).Put(k, storage.AppendResult(append([]byte(nil), dayKey...), &res)); err != nil {
				return err
			}
			if err := days.Put(k, []byte{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Hits applied by an earlier build, still in a hits log written before it
// had an id, are recognised by their hit id (Op.CheckHitID) while the
// earlier build's memory of them lasts (35 days of op times).
func TestHitIDsOfEarlierBuildsRecognisedThenForgotten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l := open(t, path)
	if err := l.PutAccount(t.Context(), storage.Account{ID: "acct", DefaultCurrency: "USD"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	seedHitIDs(t, path, "acct", base, "hit-old")
	l = open(t, path)
	defer l.Close()

	old := logged(conv("hit-old", "o1", base), "L", 1)
	old.CheckHitID = true
	r := apply(t, l, old)[0]
	if r.Reason != storage.ReasonReplayedHit || r.Original == nil || r.Original.Delta != 10_000_000 {
		t.Fatalf("hit applied by an earlier build: %+v, want replayed_hit with its result", r)
	}
	// From then on the mark knows it.
	old.CheckHitID = false
	if r := apply(t, l, old)[0]; r.Reason != storage.ReasonReplayedHit {
		t.Fatalf("replay after the mark passed it: %+v", r)
	}
	// An op 40 days later: the earlier build's day is forgotten.
	apply(t, l, logged(conv("hit-new", "o3", base.Add(40*24*time.Hour)), "L", 2))
	again := logged(conv("hit-old", "o1-again", base), "M", 1)
	again.CheckHitID = true
	if r := apply(t, l, again)[0]; r.Status != storage.StatusAccepted {
		t.Fatalf("hit id forgotten after the retention: %+v, want accepted", r)
	}
}

// Forgetting the ids of a big day is spread over several Applies.
func TestHitIDsOfEarlierBuildsForgottenInSteps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l := open(t, path)
	if err := l.PutAccount(t.Context(), storage.Account{ID: "acct", DefaultCurrency: "USD"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	const n = 10_000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("h%05d", i)
	}
	seedHitIDs(t, path, "acct", base, ids...)
	l = open(t, path)
	defer l.Close()
	late := base.Add(40 * 24 * time.Hour)
	for i := range 3 { // 3 × 4096 ids forgotten: the whole day
		apply(t, l, conv(fmt.Sprintf("late%d", i), "late", late))
	}
	ops := make([]storage.Op, n)
	for i := range ops {
		ops[i] = logged(conv(ids[i], fmt.Sprintf("o%05d", i), base), "L", uint64(i+1))
		ops[i].CheckHitID = true
	}
	for _, r := range apply(t, l, ops...) {
		if r.Status != storage.StatusAccepted {
			t.Fatalf("hit id of a forgotten day: %+v, want accepted", r)
		}
	}
}
