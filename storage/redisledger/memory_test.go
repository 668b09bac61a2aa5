package redisledger

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pixelpost/pixelpost/storage"
)

// Exactly once without remembering every hit: after a stream of ops, with
// the applier's saved cursor following it, the account keeps no key or
// field per hit (earlier builds kept each hit id and its result), only its
// mark in the log and the results of the batch the cursor has not passed.
func TestNoMemoryPerHit(t *testing.T) {
	servers(t, func(t *testing.T, l *Ledger) {
		ctx := t.Context()
		acct := newAccount(t, l)
		const batches, size = 6, 50
		var hits []string
		for b := range batches {
			ops := make([]storage.Op, size)
			for i := range ops {
				n := b*size + i
				ops[i] = conv(acct, fmt.Sprintf("o%d", n%70), 1_000_000) // new orders and refreshes
				ops[i].Log, ops[i].Pos, ops[i].Kept = "L", uint64(n+1), uint64(b*size)
				hits = append(hits, ops[i].HitID)
			}
			applyOK(t, l, ops...)
		}
		keys := accountKeys(t, l, acct)
		c := l.c
		for _, k := range keys {
			for _, h := range hits {
				if strings.Contains(k, h) || strings.Contains(k, hx(h)) {
					t.Fatalf("key %q names hit %s", k, h)
				}
			}
			typ, err := c.Type(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			if typ != "hash" {
				continue
			}
			fields, err := c.HKeys(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fields {
				for _, h := range hits {
					if strings.Contains(f, h) {
						t.Fatalf("field %q of %s names hit %s", f, k, h)
					}
				}
			}
			if strings.HasSuffix(k, ":log") && len(fields) > 2 {
				t.Errorf("log hash holds %d fields (%v), want the mark and the last batch's results", len(fields), fields)
			}
		}
		if n := len(keys); n > 80 {
			t.Errorf("%d keys for 70 orders of no attendee on one webinar", n)
		}
	})
}
