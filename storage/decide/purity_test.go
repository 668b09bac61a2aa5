package decide

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// The rules do no I/O: they import nothing that reaches a store, a file,
// the network or the clock's packages of I/O, only the domain packages and
// the standard library's pure ones. An adapter gives them what they read.
func TestRulesDoNoIO(t *testing.T) {
	allowed := map[string]bool{
		"encoding/binary": true, "errors": true, "fmt": true, "maps": true, "slices": true, "time": true,
		"github.com/pixelpost/pixelpost/attribution":     true,
		"github.com/pixelpost/pixelpost/storage":         true,
		"github.com/pixelpost/pixelpost/internal/binenc": true,
	}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			if p := strings.Trim(imp.Path.Value, `"`); !allowed[p] {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}
