package attribution

// DefaultMaxAmount is the largest amount a conversion may carry when its
// account sets no max_amount: 1,000,000.00 of the account's currency.
// Above it, an amount is far more likely a typo (cents sent as units) or a
// forged pixel than a sale.
const DefaultMaxAmount Micros = 1_000_000 * MicrosPerUnit

// MaxAmountOrDefault is an account's cap: its max_amount, or
// DefaultMaxAmount when it sets none (0).
func MaxAmountOrDefault(max Micros) Micros {
	if max <= 0 {
		return DefaultMaxAmount
	}
	return max
}

// CheckMaxAmount refuses (ReasonAmountTooLarge) an amount in the account's
// currency above the account's cap (max, 0 for the default). An amount in
// another currency is not compared: without an exchange rate one million
// of the account's currency says nothing about one million KRW.
func CheckMaxAmount(amount Micros, currency string, max Micros, accountCurrency string) error {
	if currency == accountCurrency && amount > MaxAmountOrDefault(max) {
		return reject(ReasonAmountTooLarge, "amount")
	}
	return nil
}
