package ledgertest

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

// Diff renders the differences of two values (states, results) as
// "path: value" lines, those only in want marked "-", only in got "+".
func Diff(want, got any) string { return diffLines(flat(want), flat(got)) }

// diffLines is a line diff of two renderings (dump's JSON): the lines only
// in want marked "-", only in got "+", with two lines of context, so that a
// difference deep in a whole account's state shows at once.
func diffLines(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	if len(a)*len(b) > 4_000_000 {
		return "--- want\n" + want + "\n+++ got\n" + got
	}
	// lcs[i][j]: the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int32, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		mark byte
		text string
	}
	var lines []line
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			lines = append(lines, line{' ', a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			lines = append(lines, line{'-', a[i]})
			i++
		default:
			lines = append(lines, line{'+', b[j]})
			j++
		}
	}
	const context = 2
	var out strings.Builder
	last := -1 // the last line written
	for k, l := range lines {
		if l.mark == ' ' {
			continue
		}
		from := max(k-context, last+1)
		if last >= 0 && from > last+1 {
			out.WriteString("  ...\n")
		}
		for c := from; c < k; c++ {
			out.WriteString("  " + lines[c].text + "\n")
		}
		out.WriteString(string(l.mark) + " " + l.text + "\n")
		last = k
		for c := k + 1; c < len(lines) && c <= k+context && lines[c].mark == ' '; c++ {
			out.WriteString("  " + lines[c].text + "\n")
			last = c
		}
	}
	return out.String()
}

// flat renders v as "path: value" lines (through JSON, map keys sorted),
// so that each line of a diff names where it is in a whole state.
func flat(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	var x any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&x); err != nil {
		return err.Error()
	}
	var out strings.Builder
	var walk func(path string, x any)
	walk = func(path string, x any) {
		switch x := x.(type) {
		case map[string]any:
			if len(x) == 0 {
				out.WriteString(path + ": {}\n")
			}
			for _, k := range slices.Sorted(maps.Keys(x)) {
				walk(path+"."+k, x[k])
			}
		case []any:
			if len(x) == 0 {
				out.WriteString(path + ": []\n")
			}
			for i, e := range x {
				walk(path+"["+strconv.Itoa(i)+"]", e)
			}
		case nil:
			// Empty: left out, as Normalize leaves it out.
		default:
			v, _ := json.Marshal(x)
			out.WriteString(path + ": " + string(v) + "\n")
		}
	}
	walk("", x)
	return out.String()
}

// fmtOp renders the fields of an op that are set, its time as an offset
// from the suite's base time.
func fmtOp(op storage.Op) string {
	var out []string
	v := reflect.ValueOf(op)
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		if f.IsZero() {
			continue
		}
		switch x := f.Interface().(type) {
		case time.Time:
			out = append(out, name+"=base+"+x.Sub(base).String())
		case time.Duration:
			out = append(out, name+"="+x.String())
		case storage.OpKind:
			out = append(out, name+"="+[]string{"?", "conversion", "registration", "click", "postback", "lead"}[min(int(x), 5)])
		case string:
			out = append(out, name+"="+strconv.Quote(x))
		default:
			out = append(out, name+"="+js(x))
		}
	}
	return "{" + strings.Join(out, " ") + "}"
}
