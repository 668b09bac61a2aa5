package redisledger

import (
	"crypto/sha1"
	"encoding/hex"
	"testing"

	"github.com/pixelpost/pixelpost/storage"
)

// The applier builds several keys and values per op: each costs one
// allocation, and a key is exactly the prefix and the id's SHA-1 hex.
func TestKeysAllocateOnce(t *testing.T) {
	id := "order-42"
	sum := sha1.Sum([]byte(id))
	if got, want := orderKey(id), "o:"+hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("orderKey = %q, want %q", got, want)
	}
	for name, f := range map[string]func(){
		"orderKey":       func() { _ = orderKey(id) },
		"attendeeKey":    func() { _ = attendeeKey(id) },
		"registrantsKey": func() { _ = registrantsKey(id) },
		"orderListField": func() { _ = orderListField(id, 1) },
		"newToken":       func() { _ = newToken() },
	} {
		if n := testing.AllocsPerRun(100, f); n > 1 {
			t.Errorf("%s allocates %v times, want 1", name, n)
		}
	}
}

// An email attendee id is kept as its 12 bytes without allocating; one
// with upper-case digits (not one we made) is kept whole.
func TestEmailIDBytes(t *testing.T) {
	id := "e_0123456789abcdef01234567"
	raw, ok := emailIDBytes(id)
	if !ok || emailID(raw[:]) != id {
		t.Fatalf("emailIDBytes(%q) = %x, %v", id, raw, ok)
	}
	for _, bad := range []string{"e_0123456789ABCDEF01234567", "e_0123456789abcdef0123456", "x_0123456789abcdef01234567", "e_0123456789abcdefg1234567"} {
		if _, ok := emailIDBytes(bad); ok {
			t.Errorf("emailIDBytes(%q) accepted", bad)
		}
	}
	res := storage.Result{Status: storage.StatusAccepted, AttendeeID: id}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { _ = appendResult(buf[:0], &res) }); n > 0 {
		t.Errorf("appendResult allocates %v times, want 0", n)
	}
}
