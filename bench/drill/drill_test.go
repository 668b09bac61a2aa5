package drill

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// Every round has one fault of each kind, ending inside the load; a long
// drill's faults come one after the other, a 60-second drill's overlap;
// a seed gives the same schedule again.
func TestSchedule(t *testing.T) {
	for _, d := range []time.Duration{time.Minute, 10 * time.Minute} {
		fs := schedule(d, rand.New(rand.NewPCG(7, 8)))
		again := schedule(d, rand.New(rand.NewPCG(7, 8)))
		rounds := max(1, int(d/(3*time.Minute)))
		if len(fs) != rounds*len(faultKinds) {
			t.Fatalf("%s: %d faults, want %d", d, len(fs), rounds*len(faultKinds))
		}
		count := map[faultKind]int{}
		for i, f := range fs {
			count[f.kind]++
			if f.at < 0 || f.at+f.kind.span() > d {
				t.Errorf("%s: %s at %s does not end within the load", d, f.kind, f.at)
			}
			if f.at != again[i].at || f.kind != again[i].kind {
				t.Errorf("%s: the same seed gave another schedule", d)
			}
		}
		for _, k := range faultKinds {
			if count[k] != rounds {
				t.Errorf("%s: %d %s, want %d", d, count[k], k, rounds)
			}
		}
		if d == 10*time.Minute {
			for i := 1; i < len(fs); i++ {
				if prev := fs[i-1]; prev.at+prev.kind.span()+prev.kind.settle() > fs[i].at {
					t.Errorf("%s: %s at %s overlaps %s at %s", d, prev.kind, prev.at, fs[i].kind, fs[i].at)
				}
			}
		}
	}
}

func req(seq int, k kind, customer, order int, upstream ...string) *request {
	r := &request{seq: seq, kind: k, customer: customer, order: order, code: http.StatusOK,
		upstream: upstream, answered: time.Now()}
	for range upstream {
		r.upStatus = append(r.upStatus, "200")
	}
	return r
}

func rowsOf(seqs ...int) map[int]*recorded {
	out := map[int]*recorded{}
	for i, s := range seqs {
		if out[s] == nil {
			out[s] = &recorded{ids: map[string]bool{}, status: storage.StatusAccepted}
		}
		out[s].ids[string(rune('a'+i))] = true
	}
	return out
}

// The ledger owes one sale per order seen (a refresh of a lost page
// counts), one per renewal, at the customer's webinar.
func TestExpect(t *testing.T) {
	reqs := []*request{
		req(0, kindNew, 5, 0, "n1"),     // customer 5 (webinar w1), recorded
		req(1, kindRefresh, 5, 0, "n1"), // its refresh: no second sale
		req(2, kindNew, 6, 2, "n3"),     // lost
		req(3, kindRefresh, 6, 2, "n1"), // the refresh of the lost page: the sale
		req(4, kindRecurring, 5, 0, "n2"),
		req(5, kindNew, 7, 5, "n3"), // lost, never seen again
	}
	got := expect(reqs, rowsOf(0, 1, 3, 4))
	if got.webinarSales[1] != 2 || got.webinarRevenue[1] != saleMicros+renewMicros {
		t.Errorf("w1: %d sales, %d; want 2, %d", got.webinarSales[1], got.webinarRevenue[1], saleMicros+renewMicros)
	}
	if got.webinarSales[2] != 1 || got.webinarSales[3] != 0 {
		t.Errorf("w2 %d sales (want 1), w3 %d (want 0)", got.webinarSales[2], got.webinarSales[3])
	}
	if got.customerOrders[5] != 2 || got.customerLTV[5] != saleMicros+renewMicros || got.customerOrders[7] != 0 {
		t.Errorf("customers %v %v", got.customerOrders, got.customerLTV)
	}
}

// Every request answered is one row, but those its node counted as lost;
// a second row is a doubling unless nginx sent the request to two nodes.
func TestAuditRows(t *testing.T) {
	names := map[string]string{"n1": "node1", "n2": "node2", "n3": "node3"}
	refused := req(4, kindPostback, 0, 0, "n3")
	refused.code = http.StatusServiceUnavailable
	dead := req(5, kindNew, 1, 5, "n2")
	dead.upStatus = []string{"502"}
	retried := req(6, kindNew, 1, 6, "n2", "n1")
	retried.upStatus = []string{"502", "200"}
	reqs := []*request{req(0, kindNew, 1, 0, "n1"), req(1, kindNew, 1, 1, "n3"), req(2, kindNew, 1, 2, "n1"),
		req(3, kindNew, 1, 3, "n1"), refused, dead, retried}
	a := auditRows(reqs, rowsOf(0, 2, 3, 3, 5, 6, 6), names)
	if a.lost["node3"] != 1 || a.refused["node3"] != 1 {
		t.Errorf("lost %v, refused %v: want node3's hit 1 lost and postback 4 refused", a.lost, a.refused)
	}
	if !slices.Equal(a.doubled, []int{3}) {
		t.Errorf("doubled %v, want [3]", a.doubled)
	}
	if a.unanswered != 1 || a.unansweredRecorded != 1 || a.recordedTwice != 1 || a.retried != 1 {
		t.Errorf("audit %+v", a)
	}
	if _, ok := a.summary(map[string]uint64{"node3": 2}); ok {
		t.Error("the summary of a doubled request says the books balance")
	}
	a = auditRows(reqs, rowsOf(0, 2, 3, 5, 6, 6), names)
	if lines, ok := a.summary(map[string]uint64{"node3": 2}); !ok {
		t.Errorf("the books do not balance: %q", lines)
	}
	if _, ok := a.summary(map[string]uint64{"node3": 1}); ok {
		t.Error("a node that reported fewer lost hits than went missing: the books balance")
	}
}

// A click link a node answered 503 (it never read the campaign: started
// during a ledger outage) is a refusal the visitor is told about, recorded
// without an account: not a lost hit of the node, not a row of the account.
func TestAuditRefusedClick(t *testing.T) {
	names := map[string]string{"n1": "node1", "n2": "node2"}
	click := req(1, kindClick, 0, 0, "n2")
	click.code = http.StatusServiceUnavailable
	a := auditRows([]*request{req(0, kindNew, 1, 0, "n1"), click}, rowsOf(0), names)
	if a.refusedClicks != 1 || a.lost["node2"] != 0 {
		t.Errorf("refused clicks %d, lost %v: want the 503 click refused, nothing lost", a.refusedClicks, a.lost)
	}
	if lines, ok := a.summary(map[string]uint64{}); !ok {
		t.Errorf("the books do not balance: %q", lines)
	}
	// A click answered as usual but missing is still lost.
	click.code = http.StatusFound
	if a := auditRows([]*request{req(0, kindNew, 1, 0, "n1"), click}, rowsOf(0), names); a.lost["node2"] != 1 {
		t.Errorf("lost %v: want the answered click lost", a.lost)
	}
}
