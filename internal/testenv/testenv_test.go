package testenv

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Fatalf and Skipf (each ends its
// goroutine, as the real ones do).
type recorder struct {
	testing.TB
	failed, skipped string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// try runs fn with a recorder in a goroutine of its own.
func try(fn func(t testing.TB)) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

// A test whose service is missing skips on a laptop and fails under CI:
// CI can never pass by skipping the tests that matter.
func TestMissingServiceFailsInCI(t *testing.T) {
	t.Setenv("PIXELPOST_TEST_REDIS", "")
	t.Setenv("PIXELPOST_TEST_REDIS_CLUSTER", " ")
	for _, need := range []func(testing.TB){
		func(t testing.TB) { Redis(t) },
		func(t testing.TB) { RedisCluster(t) },
		func(t testing.TB) { Binary(t, "pixelpost-no-such-program") },
	} {
		t.Setenv("CI", "true")
		if r := try(need); r.failed == "" || r.skipped != "" || !strings.Contains(r.failed, "scripts/test.sh") {
			t.Errorf("under CI=true: failed %q, skipped %q; want a failure that names scripts/test.sh", r.failed, r.skipped)
		}
		t.Setenv("CI", "")
		if r := try(need); r.skipped == "" || r.failed != "" {
			t.Errorf("on a laptop: failed %q, skipped %q; want a skip", r.failed, r.skipped)
		}
	}
	t.Setenv("CI", "true")
	t.Setenv("PIXELPOST_TEST_REDIS", "redis://127.0.0.1:1/0")
	var got string
	if r := try(func(t testing.TB) { got = Redis(t) }); r.failed != "" || r.skipped != "" || got != "redis://127.0.0.1:1/0" {
		t.Errorf("a configured service: %q (failed %q, skipped %q)", got, r.failed, r.skipped)
	}
}
