// Package docs_test keeps the repository's documents true: they stand
// alone (a clone has nothing outside it), their links resolve, and every
// test docs/security.md names as the proof of a defence exists.
package docs_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// documents are the user-facing texts: README.md and docs/*.md.
func documents(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	paths, _ := filepath.Glob("*.md")
	paths = append(paths, "../README.md")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = string(b)
	}
	if len(out) < 4 {
		t.Fatalf("found %d documents, want README.md and docs/*.md", len(out))
	}
	return out
}

func TestDocumentsStandAlone(t *testing.T) {
	for path, text := range documents(t) {
		if outside := ".." + "/shared"; strings.Contains(text, outside) {
			t.Errorf("%s points at %s, outside the repository: a clone does not have it", path, outside)
		}
	}
}

var mdLink = regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)

func TestDocumentLinksResolve(t *testing.T) {
	for path, text := range documents(t) {
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", path, target)
			}
		}
	}
}

var testName = regexp.MustCompile(`\b(?:Test|Fuzz)[A-Z][A-Za-z0-9_]*`)

// Every test named in docs/security.md as the proof of a defence exists,
// so that renaming or deleting one cannot leave the page claiming it.
func TestSecurityDefencesNameRealTests(t *testing.T) {
	b, err := os.ReadFile("security.md")
	if err != nil {
		t.Fatal(err)
	}
	named := testName.FindAllString(string(b), -1)
	if len(named) < 20 {
		t.Fatalf("docs/security.md names %d tests, want every defence with its test", len(named))
	}
	defined := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)\w+)\(`)
	err = filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range decl.FindAllStringSubmatch(string(src), -1) {
			defined[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range named {
		if !defined[n] {
			t.Errorf("docs/security.md names %s, which no test file defines", n)
		}
	}
}
