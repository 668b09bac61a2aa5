package decide

import (
	"strconv"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// memView is a View on maps, which takes in what a Txn decided: the
// decisions alone, with no store behind them.
type memView struct {
	orders    map[string]*Order
	attendees map[string]*Attendee
	marks     map[string]uint64
}

func newMemView() *memView {
	return &memView{orders: map[string]*Order{}, attendees: map[string]*Attendee{}, marks: map[string]uint64{}}
}

func (v *memView) Exists() (bool, error)                            { return true, nil }
func (v *memView) Mark(log string) (uint64, error)                  { return v.marks[log], nil }
func (v *memView) Retained(string, uint64) (*storage.Result, error) { return nil, nil }
func (v *memView) LegacyHit(*storage.Op) (bool, *storage.Result, error) {
	return false, nil, nil
}
func (v *memView) Order(key string) (*Order, error)      { return v.orders[key], nil }
func (v *memView) Attendee(id string) (*Attendee, error) { return v.attendees[id], nil }
func (v *memView) CookieLink(string) (string, error)     { return "", nil }
func (v *memView) Registration(string, string) (*Registration, error) {
	return nil, nil
}
func (v *memView) TagMembers(string) ([]string, error)         { return nil, nil }
func (v *memView) Tombstone(string) (int64, bool, error)       { return 0, false, nil }
func (v *memView) Click(string) (*storage.ClickRec, error)     { return nil, nil }
func (v *memView) Conversion(string) (*storage.ConvRec, error) { return nil, nil }
func (v *memView) Profile(string) (map[string]string, error)   { return nil, nil }
func (v *memView) Config(string, string) ([]byte, error)       { return nil, nil }
func (v *memView) Webinar(string) (*Webinar, error)            { return nil, nil }
func (v *memView) Webinars() ([]string, error)                 { return nil, nil }
func (v *memView) OrderList(string) ([]ListedOrder, error)     { return nil, nil }
func (v *memView) LinkedCookies(string) ([]string, error)      { return nil, nil }
func (v *memView) TiedClicks(string) ([]TiedClick, error)      { return nil, nil }
func (v *memView) RetainedResults() ([]Retained, error)        { return nil, nil }

// take makes the writes a Txn decided.
func (v *memView) take(ch *Changes) {
	for k, o := range ch.Orders {
		v.orders[k] = o
	}
	for id, c := range ch.Attendees {
		v.attendees[id] = c.Rec
	}
	for log, pos := range ch.Marks {
		v.marks[log] = pos
	}
}

// BenchmarkDecide is the Go side's decision per op on the load benchmark's
// pixel mix (bench/load: new orders, refreshes, recurring charges), in
// batches of 512 as the applier sends them: the rules alone, without a
// store (storage/redisledger adds its cache and the encoding of the
// commit; BenchmarkLedgerRedis in bench/ measures the whole).
func BenchmarkDecide(b *testing.B) {
	v := newMemView()
	v.orders, v.attendees = make(map[string]*Order, b.N), make(map[string]*Attendee, b.N)
	const batch = 512
	all := make([]storage.Op, b.N)
	for i := range all {
		all[i] = mixOp(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for start := 0; start < len(all); start += batch {
		ops := all[start:min(start+batch, len(all))]
		t := NewSized(v, len(ops))
		for i := range ops {
			if _, err := t.Apply(&ops[i]); err != nil {
				b.Fatal(err)
			}
		}
		v.take(t.Changes())
	}
}

// mixOp is request i of the load mix (bench/load.KindOf) as a ledger op.
func mixOp(i int) storage.Op {
	j, recurring := i, false
	switch r := i % 10; {
	case r >= 7 && r <= 8:
		j = i - 7
	case r == 9 && i >= 20009:
		j, recurring = i-20009, true
	}
	op := storage.Op{HitID: "h" + strconv.Itoa(i), Account: "a", Kind: storage.OpConversion,
		Time: time.Unix(1_800_000_000, int64(i)), Currency: "USD", HasAmount: true, Source: "pixel",
		AttendeeEmail: "c" + strconv.Itoa(j) + "@bench.example", Log: "L", Pos: uint64(i + 1)}
	if recurring {
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
