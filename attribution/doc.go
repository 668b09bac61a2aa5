// Package attribution holds the pure rules of pixelpost: parsing tracking
// hits into owned values, identities, money, order keys and the order rules
// of SPEC §2. It does no I/O, starts no goroutines and never reads the clock
// (times are passed in), so every rule is a plain function with table tests.
//
// Every parser returns its errors as *Rejection, whose Reason is what the
// raw hit records. Parsers take the raw query bytes of the request, which
// the HTTP server reuses after the handler returns: what they return never
// aliases them.
package attribution
