package hitindex

import (
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/reportstest"
	"github.com/pixelpost/pixelpost/storage/wal"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func openTest(t testing.TB) *Index {
	t.Helper()
	x, err := Open(Config{Path: filepath.Join(t.TempDir(), "hits.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// The report suite's hand-computed answers, whatever the order of the
// rows, their repetition and the degraded copies of a crash replay.
func TestReportSuite(t *testing.T) {
	hits := reportstest.Hits()
	reversed := make([]storage.Hit, len(hits))
	for i := range hits {
		reversed[len(hits)-1-i] = hits[i]
	}
	for _, tt := range []struct {
		name    string
		batches [][]storage.Hit
	}{
		{"once", [][]storage.Hit{hits}},
		{"twice, replayed copies between", [][]storage.Hit{hits, reportstest.Replayed(hits), hits}},
		{"replayed copies first", [][]storage.Hit{reportstest.Replayed(hits), reversed}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			x := openTest(t)
			for i, b := range tt.batches {
				if err := x.Add(b, wal.Pos(i+1)); err != nil {
					t.Fatal(err)
				}
			}
			reportstest.Run(t, x)
		})
	}
}
