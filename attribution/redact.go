package attribution

import (
	"bytes"
	"net/url"
	"strings"
)

// redacted replaces the value of a sensitive parameter.
const redacted = "REDACTED"

// RedactQuery prepares a raw query for storage on a raw hit or a log line:
// the values of sensitive parameters are replaced by REDACTED, and the
// result is cut at a parameter boundary to at most max bytes (max <= 0: no
// limit).
//
// Sensitive: a key (percent-decoded leniently, ASCII case ignored) equal to
// key, sig, pwd or pass, or containing mail, token, secret, passw, apikey,
// api_key or signature (email, access_token, password...); a personal
// field, redacted like an email: a key equal to name, fn, ln, dob, tel or
// mobile, or containing phone, birth, first_name, firstname, last_name,
// lastname, full_name, fullname or screen_name; and any value holding an
// '@' (an email under an unexpected name).
//
// Segments are kept in the form they arrived in, even malformed ones, so
// the record shows what the client sent; bytes outside printable ASCII are
// percent-encoded, so the result is always printable ASCII. Empty segments
// are dropped. It never panics, whatever raw holds.
func RedactQuery(raw []byte, max int) string { return RedactQueryWith(raw, max, Redaction{}) }

// Redaction names what is sensitive beyond RedactQuery's own rules: the
// parameters a sender configured to carry a secret (a network's secret
// parameter, whatever its name), and the stored secrets themselves, so
// that a secret sent under any name is hidden.
type Redaction struct {
	Keys   []string // parameter names, compared decoded, ASCII case ignored
	Values []string // secret values, compared decoded and exactly; empty ones ignored
	// AllValues hides every value (the stored secrets could not be read).
	AllValues bool
}

// RedactQueryWith is RedactQuery that also hides the values of the keys in
// r.Keys and any value equal to one of r.Values.
func RedactQueryWith(raw []byte, max int, r Redaction) string {
	var b strings.Builder
	if max > 0 {
		b.Grow(min(max, 3*len(raw)))
	}
	rest := raw
	for len(rest) > 0 {
		var seg []byte
		if i := bytes.IndexByte(rest, '&'); i >= 0 {
			seg, rest = rest[:i], rest[i+1:]
		} else {
			seg, rest = rest, nil
		}
		if len(seg) == 0 {
			continue
		}
		key, value, hasValue := bytes.Cut(seg, []byte{'='})
		hide := hasValue && (sensitiveKey(key) || holdsEmail(value) || r.hides(key, value))
		n := escapedLen(key)
		if hasValue {
			n++
			if hide {
				n += len(redacted)
			} else {
				n += escapedLen(value)
			}
		}
		if b.Len() > 0 {
			n++ // the '&'
		}
		if max > 0 && b.Len()+n > max {
			break
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		writeEscaped(&b, key)
		if hasValue {
			b.WriteByte('=')
			if hide {
				b.WriteString(redacted)
			} else {
				writeEscaped(&b, value)
			}
		}
	}
	return b.String()
}

// sensitiveKey matches the lenient decoding of a raw key.
func sensitiveKey(raw []byte) bool {
	var stack [64]byte
	k := lowerASCII(lenientUnescape(stack[:0], raw))
	switch string(k) {
	case "key", "sig", "pwd", "pass", "name", "fn", "ln", "dob", "tel", "mobile":
		return true
	}
	for _, part := range sensitiveKeyParts {
		if bytes.Contains(k, part) {
			return true
		}
	}
	return false
}

// sensitiveKeyParts are held as bytes so that matching a key (every
// parameter of every hit) copies nothing.
var sensitiveKeyParts = [...][]byte{[]byte("mail"), []byte("token"), []byte("secret"), []byte("passw"),
	[]byte("apikey"), []byte("api_key"), []byte("signature"), []byte("phone"), []byte("birth"),
	[]byte("first_name"), []byte("firstname"), []byte("last_name"), []byte("lastname"),
	[]byte("full_name"), []byte("fullname"), []byte("screen_name")}

// SensitiveParam reports whether RedactQuery would hide the value v of the
// decoded parameter k (a click's macro, say), so that stored macros follow
// the same rule as stored queries.
func SensitiveParam(k, v string) bool {
	if v == "" || v == redacted {
		return false
	}
	seg := url.QueryEscape(k) + "=" + url.QueryEscape(v)
	return strings.HasSuffix(RedactQuery([]byte(seg), 0), "="+redacted)
}

// hides reports whether r makes a raw segment sensitive.
func (r Redaction) hides(rawKey, rawValue []byte) bool {
	if r.AllValues {
		return true
	}
	if len(r.Keys) == 0 && len(r.Values) == 0 {
		return false
	}
	var stack [64]byte
	k := lowerASCII(lenientUnescape(stack[:0], rawKey))
	for _, name := range r.Keys {
		if name != "" && len(name) == len(k) && string(lowerASCII([]byte(name))) == string(k) {
			return true
		}
	}
	var vstack [64]byte
	v := lenientUnescape(vstack[:0], rawValue)
	for _, secret := range r.Values {
		if secret != "" && string(v) == secret {
			return true
		}
	}
	return false
}

// holdsEmail reports a raw value with an '@', encoded or not.
func holdsEmail(raw []byte) bool {
	if bytes.IndexByte(raw, '@') >= 0 {
		return true
	}
	for i := 0; i+2 < len(raw); i++ {
		if raw[i] == '%' && raw[i+1] == '4' && raw[i+2] == '0' {
			return true
		}
	}
	return false
}

// lenientUnescape form-decodes src into dst, keeping malformed escapes as
// they are.
func lenientUnescape(dst, src []byte) []byte {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '+' {
			c = ' '
		} else if c == '%' && i+2 < len(src) {
			hi, ok1 := unhex(src[i+1])
			lo, ok2 := unhex(src[i+2])
			if ok1 && ok2 {
				c = hi<<4 | lo
				i += 2
			}
		}
		dst = append(dst, c)
	}
	return dst
}

func lowerASCII(b []byte) []byte {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}

// printable: bytes kept as they are in a redacted query.
func printable(c byte) bool { return c > ' ' && c < 0x7f }

func escapedLen(s []byte) int {
	n := len(s)
	for _, c := range s {
		if !printable(c) {
			n += 2
		}
	}
	return n
}

func writeEscaped(b *strings.Builder, s []byte) {
	const hexDigits = "0123456789ABCDEF"
	for _, c := range s {
		if printable(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		}
	}
}
