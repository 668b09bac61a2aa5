package embedded

import (
	"testing"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/binenc"
)

// An account written before max_amount existed reads as "no cap set" (0,
// the default); one written now keeps its cap.
func TestAccountRecordMaxAmount(t *testing.T) {
	old := binenc.AppendString(binenc.AppendString([]byte{recordVersion}, "Old"), "EUR")
	got, err := decodeAccount(old)
	if err != nil || got != (accountRec{Name: "Old", DefaultCurrency: "EUR"}) {
		t.Errorf("record without max_amount: %+v, %v", got, err)
	}
	want := accountRec{Name: "New", DefaultCurrency: "USD", MaxAmount: 2500 * attribution.MicrosPerUnit}
	if got, err := decodeAccount(want.encode()); err != nil || got != want {
		t.Errorf("round trip: %+v, %v; want %+v", got, err, want)
	}
}
