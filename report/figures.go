package report

import (
	"math/big"

	"github.com/pixelpost/pixelpost/attribution"
)

// Display rules of derived figures, in one place. Money totals (revenue,
// cost, profit) are exact, printed by attribution.FormatAmount; figures
// that divide are rounded for display, halves away from zero:
//   - CR and ROI: percent with 2 decimals ("14.29" is 14.29 %);
//   - EPC and CPC: per click in the currency's major unit, 2 decimals;
//     a CPC under one cent (traffic bought at 0.0035 a click) keeps 2
//     significant digits, at most 6 decimals (the micro-unit).
//
// A figure without a denominator (no clicks, no cost) is absent (null),
// never 0 or infinity.
const (
	displayDecimals = 2
	maxDecimals     = 6 // the micro-unit
)

// percent is 100 * num / den with 2 decimals; nil when den <= 0.
func percent(num, den int64) *string {
	if den <= 0 {
		return nil
	}
	q := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(num), big.NewInt(100)), big.NewInt(den))
	s := q.FloatString(displayDecimals)
	return &s
}

// perClick is micros / clicks in major units with 2 decimals; nil without
// clicks.
func perClick(micros attribution.Micros, clicks int64) *string {
	if clicks <= 0 {
		return nil
	}
	s := unitRat(micros, clicks).FloatString(displayDecimals)
	return &s
}

// costPerClick is perClick, with 2 significant digits below one cent.
func costPerClick(micros attribution.Micros, clicks int64) *string {
	if clicks <= 0 {
		return nil
	}
	q := unitRat(micros, clicks)
	d := displayDecimals
	if q.Sign() != 0 {
		abs := new(big.Rat).Abs(q)
		scaled := new(big.Rat).Mul(abs, pow10Rat(d))
		for d < maxDecimals && scaled.Cmp(big.NewRat(10, 1)) < 0 && abs.Cmp(big.NewRat(1, 100)) < 0 {
			d++
			scaled.Mul(scaled, big.NewRat(10, 1))
		}
	}
	s := q.FloatString(d)
	return &s
}

// unitRat is micros / clicks in major units, exact.
func unitRat(micros attribution.Micros, clicks int64) *big.Rat {
	return new(big.Rat).SetFrac(big.NewInt(int64(micros)), new(big.Int).Mul(big.NewInt(clicks), big.NewInt(attribution.MicrosPerUnit)))
}

func pow10Rat(n int) *big.Rat {
	return new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil))
}
