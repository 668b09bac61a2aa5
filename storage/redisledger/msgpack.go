package redisledger

import "encoding/binary"

// request is the argument of commit.lua: msgpack {checks, writes}, built
// incrementally (Lua's cmsgpack decodes it in C: one argument per call
// however many records it names). Every element is a msgpack string: Lua
// numbers are doubles, so numbers travel as decimal strings.
type request struct {
	checks  []byte
	nChecks int // checks, each three strings
	writes  []byte
	nWrites int
	refs    []checkRef // what each check read, for the caller
}

// checkRef says what a check read, so that a stale value the script
// returns can refresh it.
type checkRef struct {
	key, field string // the key suffix and field checked
	kind       recordKind
}

func (r *request) reset() {
	r.checks, r.writes, r.refs = r.checks[:0], r.writes[:0], r.refs[:0]
	r.nChecks, r.nWrites = 0, 0
}

// check adds a condition: the record (key suffix, field) must be as want
// says (commit.lua).
func (r *request) check(ref checkRef, want string) {
	r.checks = mpStr(mpStr(mpStr(r.checks, ref.key), ref.field), want)
	r.nChecks++
	r.refs = append(r.refs, ref)
}

// write adds a command: its name, a key suffix and its arguments.
func (r *request) write(args ...string) {
	r.writes = mpArray(r.writes, len(args))
	for _, a := range args {
		r.writes = mpStr(r.writes, a)
	}
	r.nWrites++
}

func (r *request) empty() bool { return r.nChecks == 0 && r.nWrites == 0 }

// bytes is the encoded request.
func (r *request) bytes() []byte {
	b := make([]byte, 0, 16+len(r.checks)+len(r.writes))
	b = mpArray(b, 2)
	b = mpArray(b, 3*r.nChecks)
	b = append(b, r.checks...)
	b = mpArray(b, r.nWrites)
	return append(b, r.writes...)
}

func mpArray(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n < 1<<16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
	}
}

func mpStr(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n < 1<<8:
		b = append(b, 0xd9, byte(n))
	case n < 1<<16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}
