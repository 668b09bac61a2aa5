package redisledger

import (
	"strconv"
	"testing"
)

// The node's cache holds at most two generations: what was used lately
// stays, the rest goes, however many records pass through it.
func TestCacheIsBounded(t *testing.T) {
	c := newRecCache(100)
	c.put("hot", "v")
	for i := range 10_000 {
		c.put(strconv.Itoa(i), "x")
		if i%50 == 0 {
			if v, ok := c.get("hot"); !ok || v != "v" {
				t.Fatalf("a record in use left the cache after %d others", i)
			}
		}
		if n := len(c.cur) + len(c.old); n > 200 {
			t.Fatalf("%d records cached, want at most 200", n)
		}
	}
	if _, ok := c.get("7"); ok {
		t.Error("a record of long ago is still cached")
	}
}
