package attribution

import (
	"strings"
	"testing"
)

func TestIsPlaceholder(t *testing.T) {
	tests := []struct {
		name, in string
		want     bool
	}{
		{"empty", "", true},
		{"spaces", "  ", true},
		{"double braces", "{{email}}", true},
		{"double braces with filter", "{{ order.total | money }}", true},
		{"single braces", "{email}", true},
		{"dotted braces", "{checkout.email}", true},
		{"percent", "%EMAIL%", true},
		{"brackets", "[email]", true},
		{"dollar braces", "${email}", true},
		{"dollar name", "$email", true},
		{"dollar upper name", "$ORDER_ID", true},
		{"mailchimp merge tag", "*|EMAIL|*", true},
		{"erb", "<%= email %>", true},
		{"spaces around a token", " {{email}} ", true},

		{"email", "john@example.com", false},
		{"amount", "49.99", false},
		{"dollar amount", "$49", false},
		{"lone dollar", "$", false},
		{"lone percent", "%", false},
		{"empty percent", "%%", false},
		{"empty brackets", "[]", false},
		{"bracket phrase", "[a b]", false},
		{"order id", "A-1001", false},
		{"unclosed braces", "{{email", false},
		{"unopened braces", "email}}", false},
		{"percent amount", "%50 off%", false},
		{"bracketed prefix", "[VIP] course", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPlaceholder(tt.in); got != tt.want {
				t.Errorf("IsPlaceholder(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		name, in string
		want     bool
	}{
		{"digits", "4429", true},
		{"tag", "course_sales", true},
		{"all punctuation", "a_b.c:d-e", true},
		{"64 chars", strings.Repeat("x", 64), true},
		{"one char", "x", true},

		{"empty", "", false},
		{"65 chars", strings.Repeat("x", 65), false},
		{"space", "a b", false},
		{"slash", "a/b", false},
		{"hash", "#a", false},
		{"comma", "a,b", false},
		{"pipe", "a|b", false},
		{"braces", "{a}", false},
		{"non-ASCII", "caf\u00e9", false},
		{"NUL", "a\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidID(tt.in); got != tt.want {
				t.Errorf("ValidID(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
