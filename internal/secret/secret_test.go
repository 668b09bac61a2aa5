package secret

import "testing"

func TestMask(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"short", "****"},
		{"fifteen-chars-x", "****"},
		{"sixteen-chars-xy", "****s-xy"},
		{"EAAB0123456789abcdefWXYZ", "****WXYZ"},
	} {
		if got := Mask(c.in); got != c.want {
			t.Errorf("Mask(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestKeep(t *testing.T) {
	const stored = "EAAB0123456789abcdefWXYZ"
	for _, c := range []struct {
		sent, stored, want string
		ok                 bool
	}{
		{"new-secret", stored, "new-secret", true}, // replaced
		{"****WXYZ", stored, stored, true},         // sent back masked: kept
		{"****ABCD", stored, "", false},            // the mask of another secret
		{"****", "short", "short", true},           // short secrets mask alike
		{"****WXYZ", "", "", false},                // nothing stored to keep
		{"", stored, "", true},                     // cleared on purpose
		{"****", stored, "", false},                // not this secret's mask
	} {
		got, ok := Keep(c.sent, c.stored)
		if got != c.want || ok != c.ok {
			t.Errorf("Keep(%q, %q) = %q, %v; want %q, %v", c.sent, c.stored, got, ok, c.want, c.ok)
		}
	}
}

func TestScrub(t *testing.T) {
	const tok = "EAAB0123456789abcdefWXYZ"
	got := Scrub(`{"error":"bad token EAAB0123456789abcdefWXYZ"}`, tok)
	if want := `{"error":"bad token ****WXYZ"}`; got != want {
		t.Errorf("Scrub = %q, want %q", got, want)
	}
	if got := Scrub("x", ""); got != "x" {
		t.Errorf("Scrub with no secret = %q", got)
	}
}
