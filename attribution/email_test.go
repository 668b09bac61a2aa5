package attribution

import (
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name, in, want string // want "": rejected
	}{
		{"plain", "john@example.com", "john@example.com"},
		{"plus kept", "john+tag@gmail.com", "john+tag@gmail.com"},
		{"space restored to plus", "john tag@gmail.com", "john+tag@gmail.com"},
		{"two spaces restored", "a b c@x.com", "a+b+c@x.com"},
		{"trimmed", "  john@example.com\t", "john@example.com"},
		{"upper case", "John.Smith@Example.COM", "john.smith@example.com"},
		{"composed e-acute", "jos\u00e9@example.com", "jos\u00e9@example.com"},
		{"decomposed e-acute composes", "jose\u0301@example.com", "jos\u00e9@example.com"},
		{"upper decomposed", "JOSE\u0301@EXAMPLE.COM", "jos\u00e9@example.com"},
		{"unicode domain", "ann@b\u00fccher.de", "ann@b\u00fccher.de"},
		{"longest", strings.Repeat("a", 248) + "@x.com", strings.Repeat("a", 248) + "@x.com"},

		{"zero-width space", "jo\u200bhn@gmail.com", ""},
		{"zero-width non-joiner", "jo\u200chn@gmail.com", ""},
		{"zero-width joiner", "jo\u200dhn@gmail.com", ""},
		{"word joiner", "jo\u2060hn@gmail.com", ""},
		{"byte order mark", "\ufeffjohn@gmail.com", ""},
		{"right-to-left mark", "john\u200f@gmail.com", ""},
		{"soft hyphen", "jo\u00adhn@gmail.com", ""},
		{"full-width at", "john\uff20gmail.com", ""},
		{"full-width letter", "\uff4aohn@gmail.com", ""},
		{"full-width dot", "john@gmail\uff0ecom", ""},
		{"control char", "jo\x01hn@gmail.com", ""},
		{"DEL", "jo\x7fhn@gmail.com", ""},
		{"tab inside", "jo\thn@gmail.com", ""},
		{"no-break space inside", "jo\u00a0hn@gmail.com", ""},
		{"invalid UTF-8", "jo\xffhn@gmail.com", ""},
		{"no at", "john.gmail.com", ""},
		{"two ats", "john@doe@gmail.com", ""},
		{"empty local part", "@gmail.com", ""},
		{"empty domain", "john@", ""},
		{"domain without dot", "john@localhost", ""},
		{"domain starting with dot", "john@.com", ""},
		{"domain ending with dot", "john@gmail.", ""},
		{"space in domain", "john@gm ail.com", ""},
		{"too long", strings.Repeat("a", 249) + "@x.com", ""},
		{"empty", "", ""},
		{"only spaces", "   ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeEmail(tt.in)
			if tt.want == "" {
				checkRejection(t, err, ReasonInvalidEmail, "email")
				if got != "" {
					t.Errorf("rejected email returned %q", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if again, err := NormalizeEmail(got); err != nil || again != got {
				t.Errorf("not a fixed point: %q -> %q, %v", got, again, err)
			}
		})
	}
}

func TestNormalizeEmailAllocations(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := NormalizeEmail("john+tag@gmail.com"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a canonical email costs %v allocations, want 0", allocs)
	}
}
