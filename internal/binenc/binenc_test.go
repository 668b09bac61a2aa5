package binenc

import (
	"errors"
	"maps"
	"slices"
	"testing"
)

var errBad = errors.New("bad")

func TestRoundTrip(t *testing.T) {
	b := AppendString(nil, "héllo")
	b = AppendStrings(b, []string{"a", "", "c"})
	b = AppendMap(b, map[string]string{"z": "1", "a": "2"})
	b = AppendBool(b, true)
	d := NewDecoder(b, errBad)
	s, l, m, v := d.String(), d.Strings(), d.Map(), d.Bool()
	if d.Err() != nil || d.Len() != 0 || s != "héllo" || !slices.Equal(l, []string{"a", "", "c"}) ||
		!maps.Equal(m, map[string]string{"z": "1", "a": "2"}) || !v {
		t.Fatalf("round trip: %q %q %v %v, err %v, %d left", s, l, m, v, d.Err(), d.Len())
	}
}

func TestTruncatedInputFailsOnce(t *testing.T) {
	full := AppendStrings(AppendString(nil, "abc"), []string{"x", "y"})
	for n := range len(full) {
		d := NewDecoder(full[:n], errBad)
		_ = d.String()
		d.Strings()
		if !errors.Is(d.Err(), errBad) {
			t.Errorf("%d of %d bytes: err %v, want errBad", n, len(full), d.Err())
		}
	}
}

// FuzzDecoder: any bytes are read or refused, never a panic or a huge
// allocation from a hostile count.
func FuzzDecoder(f *testing.F) {
	f.Add(AppendMap(AppendStrings(nil, []string{"a", "b"}), map[string]string{"k": "v"}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(b, errBad)
		d.Strings()
		d.Map()
		d.Varint()
		d.Bool()
		if d.Err() != nil && !errors.Is(d.Err(), errBad) {
			t.Fatalf("error %v does not wrap errBad", d.Err())
		}
	})
}

// AppendMap allocates nothing for the maps hits carry (none, or a few
// macros): it runs for every hit, twice, on the hot path.
func TestAppendMapDoesNotAllocate(t *testing.T) {
	dst := make([]byte, 0, 4096)
	for _, m := range []map[string]string{nil, {}, {"k": "v"}, {"zone_id": "z1", "country": "FR", "cost": "0.01", "external_id": "x"}} {
		if n := testing.AllocsPerRun(100, func() { dst = AppendMap(dst[:0], m) }); n != 0 {
			t.Errorf("AppendMap of %d pairs: %.0f allocations, want 0", len(m), n)
		}
	}
	// Deterministic: the pairs come sorted by key, whatever the map's order.
	got := AppendMap(nil, map[string]string{"b": "2", "a": "1", "c": "3"})
	want := AppendString(AppendString(AppendString(AppendString(AppendString(AppendString([]byte{3}, "a"), "1"), "b"), "2"), "c"), "3")
	if string(got) != string(want) {
		t.Errorf("AppendMap = %q, want %q", got, want)
	}
}
