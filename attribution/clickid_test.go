package attribution

import (
	"encoding/base32"
	"slices"
	"strings"
	"testing"
	"time"
)

var lowerBase32Hex = base32.NewEncoding(clickIDAlphabet).WithPadding(base32.NoPadding)

func TestNewClickID(t *testing.T) {
	at := time.Date(2026, 3, 14, 15, 9, 26, 535_897_932, time.UTC)
	tests := []struct {
		name     string
		now      time.Time
		random   [10]byte
		wantTime time.Time
	}{
		{"now", at, [10]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, at.Truncate(time.Millisecond)},
		{"zero random", at, [10]byte{}, at.Truncate(time.Millisecond)},
		{"all ones random", at, [10]byte{255, 255, 255, 255, 255, 255, 255, 255, 255, 255}, at.Truncate(time.Millisecond)},
		{"other zone", at.In(time.FixedZone("CET", 3600)), [10]byte{7}, at.Truncate(time.Millisecond)},
		{"epoch", time.Unix(0, 0), [10]byte{9}, time.Unix(0, 0).UTC()},
		{"before 1970 clamps", time.Date(1969, 7, 20, 0, 0, 0, 0, time.UTC), [10]byte{9}, time.Unix(0, 0).UTC()},
		{"zero time clamps", time.Time{}, [10]byte{9}, time.Unix(0, 0).UTC()},
		{"far future clamps", time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC), [10]byte{9},
			time.UnixMilli(maxClickMillis).UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := NewClickID(tt.now, tt.random)
			if len(id) != ClickIDLen || !ValidClickID(id) {
				t.Fatalf("NewClickID = %q is not valid", id)
			}
			got, ok := ClickTime(id)
			if !ok || !got.Equal(tt.wantTime) || got.Location() != time.UTC {
				t.Errorf("ClickTime(%q) = %v, %v; want %v", id, got, ok, tt.wantTime)
			}
			// The id is the standard base32hex of the 16 bytes.
			raw, err := lowerBase32Hex.DecodeString(id)
			if err != nil || len(raw) != 16 || string(raw[6:]) != string(tt.random[:]) {
				t.Errorf("decodes to %x, %v; want random %x at the end", raw, err, tt.random)
			}
			if again := lowerBase32Hex.EncodeToString(raw); again != id {
				t.Errorf("re-encodes to %q", again)
			}
		})
	}
}

// TestClickIDSortsByTime: ids of later milliseconds sort after, whatever
// their random bits.
func TestClickIDSortsByTime(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []time.Duration{0, time.Millisecond, 2 * time.Millisecond, time.Second, time.Hour,
		24 * time.Hour, 365 * 24 * time.Hour, 50 * 365 * 24 * time.Hour}
	var ids []string
	for i, d := range steps {
		// Decreasing random bits, so that only the time can order them.
		r := [10]byte{byte(255 - i), byte(255 - i)}
		ids = append(ids, NewClickID(base.Add(d), r))
	}
	if !slices.IsSorted(ids) {
		t.Errorf("ids are not sorted by time: %q", ids)
	}
}

func TestClickIDUnique(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	for i := range 80 { // each single random bit flipped
		var r [10]byte
		r[i/8] = 1 << (i % 8)
		id := NewClickID(at, r)
		if seen[id] {
			t.Fatalf("random bit %d gives a repeated id %q", i, id)
		}
		seen[id] = true
	}
	if seen[NewClickID(at, [10]byte{})] {
		t.Errorf("zero random collides with a one-bit random")
	}
}

func TestValidClickID(t *testing.T) {
	good := NewClickID(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), [10]byte{1, 2, 3})
	tests := []struct {
		name, in string
		want     bool
	}{
		{"generated", good, true},
		{"test id", testClickID, true},
		{"all zeros", strings.Repeat("0", 26), true},
		{"largest", strings.Repeat("v", 25) + "s", true},
		{"empty", "", false},
		{"too short", good[:25], false},
		{"too long", good + "0", false},
		{"upper case", strings.ToUpper(good), false},
		{"beyond v", good[:10] + "w" + good[11:], false},
		{"padding bits set", good[:25] + "1", false},
		{"padding bits set high", strings.Repeat("v", 26), false},
		{"padding sign", good[:25] + "=", false},
		{"dash", good[:10] + "-" + good[11:], false},
		{"uuid", "9cdf32d5-124e-4e06-b25b-4c92d3cec9dc", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidClickID(tt.in); got != tt.want {
				t.Errorf("ValidClickID(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if _, ok := ClickTime(tt.in); ok != tt.want {
				t.Errorf("ClickTime(%q) ok = %v", tt.in, ok)
			}
		})
	}
	// Every id NewClickID writes is a valid postback click id too.
	if !validPostbackClickID(good) {
		t.Errorf("%q is not a valid postback click id", good)
	}
}

func TestClickTimeRoundTrip(t *testing.T) {
	for _, ms := range []int64{0, 1, 1_700_000_000_000, 1_767_225_600_123, maxClickMillis - 1, maxClickMillis} {
		at := time.UnixMilli(ms)
		got, ok := ClickTime(NewClickID(at, [10]byte{0xaa, 0x55}))
		if !ok || !got.Equal(at) {
			t.Errorf("ClickTime(NewClickID(%d ms)) = %v, %v", ms, got, ok)
		}
	}
}

func BenchmarkNewClickID(b *testing.B) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		_ = NewClickID(at, [10]byte{1, 2, 3})
	}
}
