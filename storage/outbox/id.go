package outbox

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// idEncoding keeps byte order: base32hex, lower-cased (digits sort before
// letters in ASCII too), no padding.
var idEncoding = base32.HexEncoding.WithPadding(base32.NoPadding)

// idGen makes delivery ids: 48 bits of milliseconds since the epoch, then 80
// random bits, as 26 base32hex characters. Ids from one generator strictly
// increase, even within a millisecond or when the clock steps back, so the
// id order is the enqueue order and "newest first" is a reverse key scan.
type idGen struct {
	mu   sync.Mutex
	last [16]byte
}

func (g *idGen) next(now time.Time) string {
	var b [16]byte
	ms := now.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	binary.BigEndian.PutUint64(b[:8], uint64(ms)<<16)
	_, _ = rand.Read(b[6:]) // never fails (crypto/rand panics instead)
	g.mu.Lock()
	if bytes.Compare(b[:], g.last[:]) <= 0 {
		b = g.last
		for i := len(b) - 1; i >= 0; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	}
	g.last = b
	g.mu.Unlock()
	return strings.ToLower(idEncoding.EncodeToString(b[:]))
}
