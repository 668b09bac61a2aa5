package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// maxDashboardBytes bounds what a browser loads for the dashboard, every
// file uncompressed (issue 15, item 6): a page over an API needs no more.
const maxDashboardBytes = 250 << 10

func TestDashboardIsLight(t *testing.T) {
	total := 0
	err := fs.WalkDir(Dashboard(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Dashboard(), name)
		total += len(b)
		t.Logf("%s: %d bytes", name, len(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	total += len(PixelJS)
	if total > maxDashboardBytes {
		t.Errorf("the dashboard's files weigh %d bytes, more than %d", total, maxDashboardBytes)
	}
	// Nothing is fetched from elsewhere: no absolute URL in a src or href.
	for _, name := range []string{"index.html", "app.css"} {
		b, _ := fs.ReadFile(Dashboard(), name)
		if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import`).Find(b); m != nil {
			t.Errorf("%s loads something from elsewhere: %q", name, m)
		}
	}
}

// Every field of the page has a label: it is inside a <label>, a
// <label for=...> names it, or it has an aria-label. (The browser test
// checks the fields the script makes, on every page.)
func TestDashboardFieldsHaveLabels(t *testing.T) {
	b, err := fs.ReadFile(Dashboard(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	labelledByFor := map[string]bool{}
	for _, m := range regexp.MustCompile(`<label[^>]*\sfor="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		labelledByFor[m[1]] = true
	}
	depth, fields := 0, 0
	for _, m := range regexp.MustCompile(`<(/?)(label|input|select|textarea)\b([^>]*)>`).FindAllStringSubmatch(page, -1) {
		closing, tag, attrs := m[1] == "/", m[2], m[3]
		switch {
		case tag == "label" && closing:
			depth--
		case tag == "label":
			depth++
		case closing:
		default:
			if strings.Contains(attrs, `type="hidden"`) {
				continue
			}
			fields++
			id := regexp.MustCompile(`\sid="([^"]+)"`).FindStringSubmatch(attrs)
			if depth == 0 && !strings.Contains(attrs, "aria-label=") && (id == nil || !labelledByFor[id[1]]) {
				t.Errorf("a %s without a label: <%s%s>", tag, tag, attrs)
			}
		}
	}
	if fields < 50 {
		t.Errorf("only %d fields found: the scan is broken", fields)
	}
}
