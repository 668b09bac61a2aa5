package load

import "testing"

func TestMixRefersToNewOrdersSentBefore(t *testing.T) {
	for i := range 100_000 {
		k, j := KindOf(i)
		if k == New && j != i || j > i || j < 0 {
			t.Fatalf("request %d: kind %d refers to %d", i, k, j)
		}
		if k != New {
			if kj, _ := KindOf(j); kj != New {
				t.Fatalf("request %d refers to %d, which is not a new order", i, j)
			}
		}
	}
	exp := Expected(30_000)
	var sales int64
	for _, tot := range exp {
		sales += tot.Sales
	}
	// 7 new orders in 10, plus the recurring charges from index 20009 on
	// (the earlier 9s are new orders).
	want := int64(30_000*7/10 + 2001 + 999)
	if sales != want {
		t.Fatalf("expected sales %d, want %d", sales, want)
	}
}
