// Package report is the arithmetic of pixelpost's reports, written once for
// every store (SPEC §4, §5): a store (ClickHouse, or the embedded hit index)
// only supplies sums and rows; this package derives the figures users read
// (CR, EPC, CPC, ROI), rounds them for display, converts money at an
// account's fixed exchange rates with exact decimal arithmetic, computes
// date presets in the account's time zone, and shapes the JSON and CSV
// answers. Both stores fed the same hits therefore answer the same bytes.
//
// Pure: standard library and attribution only, no I/O, no clock (the
// caller passes now).
package report
