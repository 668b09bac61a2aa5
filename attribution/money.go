package attribution

// Micros is an amount of money in millionths of a currency's major unit
// (49.99 USD = 49_990_000). Sums of Micros are exact; amounts in different
// currencies are never added together.
type Micros int64

// MicrosPerUnit is the number of Micros in one major unit of any currency.
const MicrosPerUnit = 1_000_000
