// Package attribution holds the pure rules of pixelpost: parsing tracking
// hits into owned values, identities, money, order keys and the order rules
// of SPEC §2. It does no I/O, starts no goroutines and never reads the clock
// (times are passed in), so every rule is a plain function with table tests.
//
// Every parser returns its errors as *Rejection, whose Reason is what the
// raw hit records. Parsers take the raw query bytes of the request, which
// the HTTP server reuses after the handler returns: what they return never
// aliases them.
//
// Decisions where the specification leaves room (each is documented again
// on the function it concerns):
//
//   - Amounts: ".5" and "5." are accepted (unambiguous); leading zeros
//     count toward the 12 integer digits; a comma amount that also reads as
//     a thousands grouping ("1,000", "125,000") is invalid_amount unless
//     the currency has three or more decimals, since taking it for one
//     dollar would be a silent 1000x error.
//   - Currencies: ISO 4217 List One of 2026-01-01 without the codes whose
//     minor unit is N.A. (metals, bond units, XDR, XSU, XUA, XTS, XXX);
//     withdrawn codes (BGN, ANG, HRK...) are unknown.
//   - Pixel parameter names match without regard to ASCII case (orderID,
//     webinarid); other spellings (webinar_id) are unknown and ignored.
//   - A raw %NAME% value, which is not valid percent-encoding, is taken as
//     the unsubstituted placeholder it is, not as invalid_encoding.
//   - Placeholders also include ${...}, $name, *|NAME|* and <%...%>.
//   - Values of single parameters are trimmed of ASCII spaces; two values
//     are "the same" when equal after trimming (currencies and emails in
//     their normal form).
//   - Limits apply to decoded keys as well as values; every parameter,
//     known or not, must be well encoded.
//   - Emails: only the local part gets its spaces restored to '+'; all
//     format characters (Unicode Cf: bidi marks, soft hyphen...) and
//     non-ASCII spaces are rejected like zero-width ones.
//   - RedactQuery keeps each segment as it arrived (percent-encoding
//     untouched, bytes outside printable ASCII escaped) and also redacts any
//     value holding an '@', whatever its key.
package attribution
