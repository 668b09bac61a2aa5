package attribution

import "testing"

func TestCheckMaxAmount(t *testing.T) {
	f := func(amount Micros, currency string, max Micros, want string) {
		t.Helper()
		got := ""
		if err := CheckMaxAmount(amount, currency, max, "USD"); err != nil {
			got = err.(*Rejection).Reason
		}
		if got != want {
			t.Errorf("%d %s under cap %d: %q, want %q", amount, currency, max, got, want)
		}
	}
	f(DefaultMaxAmount, "USD", 0, "")                     // at the default cap
	f(DefaultMaxAmount+1, "USD", 0, ReasonAmountTooLarge) // one micro over it
	f(500*MicrosPerUnit, "USD", 500*MicrosPerUnit, "")    // at a set cap
	f(500*MicrosPerUnit+1, "USD", 500*MicrosPerUnit, ReasonAmountTooLarge)
	f(DefaultMaxAmount*1000, "KRW", 0, "") // another currency: not compared
	f(0, "USD", 0, "")
}
