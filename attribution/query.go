package attribution

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Limits on a tracking query (SPEC §6). They bound the work and memory of
// one hit whatever the client sends.
const (
	MaxQueryBytes = 8192 // raw query string, without the '?'
	MaxParams     = 50   // non-empty '&'-separated segments
	MaxParamBytes = 1024 // decoded key or value
)

// maxParamName bounds the parameter name copied into a Rejection.
const maxParamName = 64

// Param is one decoded query parameter.
type Param struct{ Key, Value string }

// ParseQuery decodes a raw query string (no leading '?'): segments are
// separated by '&' only (';' is data), empty segments are skipped, a
// segment without '=' has an empty value, '+' decodes to a space and
// percent-escapes must be exactly '%' and two hex digits. Decoded keys and
// values must be valid UTF-8 without NUL.
//
// A value that is a raw unsubstituted placeholder such as %EMAIL% cannot be
// percent-decoded; it is kept verbatim (IsPlaceholder recognises it) instead
// of rejecting the hit.
//
// Errors (*Rejection): ReasonQueryTooLong over MaxQueryBytes,
// ReasonTooManyParams over MaxParams, ReasonParamTooLong for a key or value
// over MaxParamBytes and ReasonInvalidEncoding, with Param naming the key.
//
// raw may be a reused request buffer: the result shares no memory with it
// (all keys and values are substrings of one string allocated here).
func ParseQuery(raw []byte) ([]Param, error) {
	if len(raw) > MaxQueryBytes {
		return nil, reject(ReasonQueryTooLong, "")
	}
	type span struct{ key, value, end int }
	var spans [MaxParams]span
	n := 0
	buf := make([]byte, 0, len(raw))
	it := segments{rest: raw}
	for {
		seg, ok, err := it.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		start := len(buf)
		var keyEnd int
		if buf, keyEnd, err = decodeParam(buf, seg); err != nil {
			return nil, err
		}
		spans[n] = span{start, keyEnd, len(buf)}
		n++
	}
	if n == 0 {
		return nil, nil
	}
	s := string(buf)
	params := make([]Param, n)
	for i, sp := range spans[:n] {
		params[i] = Param{Key: s[sp.key:sp.value], Value: s[sp.value:sp.end]}
	}
	return params, nil
}

// segments iterates over the non-empty '&'-separated segments of a raw
// query, refusing more than MaxParams of them. It does not allocate.
type segments struct {
	rest []byte
	n    int
}

func (it *segments) next() (seg []byte, ok bool, err error) {
	for len(it.rest) > 0 {
		i := bytes.IndexByte(it.rest, '&')
		if i < 0 {
			seg, it.rest = it.rest, nil
		} else {
			seg, it.rest = it.rest[:i], it.rest[i+1:]
		}
		if len(seg) == 0 {
			continue
		}
		if it.n++; it.n > MaxParams {
			return nil, false, reject(ReasonTooManyParams, "")
		}
		return seg, true, nil
	}
	return nil, false, nil
}

// decodeParam appends the decoded key and then the decoded value of one
// segment to buf; the key is buf[len(buf on entry):keyEnd], the value
// buf[keyEnd:]. On error buf is returned unchanged.
func decodeParam(buf, seg []byte) (out []byte, keyEnd int, err error) {
	start := len(buf)
	rawKey, rawValue := seg, seg[:0]
	if i := bytes.IndexByte(seg, '='); i >= 0 {
		rawKey, rawValue = seg[:i], seg[i+1:]
	}
	buf, ok := unescape(buf, rawKey)
	if !ok || !validText(buf[start:]) {
		return buf[:start], 0, reject(ReasonInvalidEncoding, paramName(rawKey))
	}
	keyEnd = len(buf)
	if keyEnd-start > MaxParamBytes {
		return buf[:start], 0, reject(ReasonParamTooLong, paramName(buf[start:keyEnd]))
	}
	if buf, ok = unescape(buf, rawValue); !ok {
		if !percentPlaceholder(rawValue) {
			return buf[:start], 0, reject(ReasonInvalidEncoding, paramName(buf[start:keyEnd]))
		}
		buf = append(buf[:keyEnd], rawValue...)
	}
	if !validText(buf[keyEnd:]) {
		return buf[:start], 0, reject(ReasonInvalidEncoding, paramName(buf[start:keyEnd]))
	}
	if len(buf)-keyEnd > MaxParamBytes {
		return buf[:start], 0, reject(ReasonParamTooLong, paramName(buf[start:keyEnd]))
	}
	return buf, keyEnd, nil
}

// unescape appends the form-decoding of src to dst: '+' is a space and
// '%' must start a two-hex-digit escape. ok is false on a malformed escape.
func unescape(dst, src []byte) (out []byte, ok bool) {
	for {
		i := 0
		for i < len(src) && src[i] != '%' && src[i] != '+' {
			i++
		}
		dst = append(dst, src[:i]...) // copy plain runs in bulk
		if i == len(src) {
			return dst, true
		}
		if src[i] == '+' {
			dst = append(dst, ' ')
			src = src[i+1:]
			continue
		}
		if i+2 >= len(src) {
			return dst, false
		}
		hi, ok1 := unhex(src[i+1])
		lo, ok2 := unhex(src[i+2])
		if !ok1 || !ok2 {
			return dst, false
		}
		dst = append(dst, hi<<4|lo)
		src = src[i+3:]
	}
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// validText: decoded parameters must be valid UTF-8 without NUL.
func validText(b []byte) bool {
	return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}

// percentPlaceholder reports a raw value like %EMAIL%: an unsubstituted
// placeholder, which is not a valid percent-encoding.
func percentPlaceholder(raw []byte) bool {
	n := len(raw)
	return n >= 3 && raw[0] == '%' && raw[n-1] == '%' && tokenChars(raw[1:n-1])
}

// paramName is an owned, bounded, printable-enough copy of a key for a
// Rejection.
func paramName(key []byte) string {
	if len(key) > maxParamName {
		key = key[:maxParamName]
	}
	return strings.ToValidUTF8(string(key), "\uFFFD")
}
