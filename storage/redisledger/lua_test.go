package redisledger

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The rules live once, in Go (storage/decide): the Lua run by Redis is
// generic storage, short, and names nothing of the ledger's domain.
func TestLuaHoldsNoRules(t *testing.T) {
	files, err := filepath.Glob("lua/*.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Lua files: %v", err)
	}
	domain := regexp.MustCompile(`(?i)approved|pending|declined|chargeback|accepted|updated|duplicate|rejected|replayed|` +
		`same_|currency|cur\b|amount|webinar|attendee|order|cookie|\btag|click|conv|erase|acq|regist|profile|lead|sale|revenue|ltv|window`)
	lines := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			lines++
			code, _, _ := strings.Cut(line, "--") // comments may say what the script is for
			if m := domain.FindString(code); m != "" {
				t.Errorf("%s:%d names %q of the ledger's rules: %s", f, i+1, m, strings.TrimSpace(line))
			}
		}
	}
	if lines > 150 {
		t.Errorf("%d lines of Lua, want at most 150", lines)
	}
}
