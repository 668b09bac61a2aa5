package ledgertest

import (
	"sync"

	"github.com/pixelpost/pixelpost/storage"
)

// positions places ops in hits logs as the applier would: a hit id gets a
// position the first time it is applied and the same one every time
// after, since a replay reads the same record of the same log again
// (storage.Op.Log, Pos). Ops applied one after the other are in the
// fixture's log, in the order they are first applied; a hit first applied
// from a goroutine of its own (concurrently) gets a log of its own, as a
// hit of another node.
type positions struct {
	mu   sync.Mutex
	log  string
	next uint64
	at   map[string]place
}

type place struct {
	log string
	pos uint64
}

func newPositions() *positions {
	return &positions{log: randomID("log-"), at: map[string]place{}}
}

// place fills in op's log and position unless it has a log already; alone
// gives a hit seen for the first time a log of its own.
func (p *positions) place(op *storage.Op, alone bool) {
	if op.Log != "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	key := op.Account + "\x00" + op.HitID
	pl, ok := p.at[key]
	if !ok {
		if alone {
			pl = place{randomID("log-"), 1}
		} else {
			p.next++
			pl = place{p.log, p.next}
		}
		p.at[key] = pl
	}
	op.Log, op.Pos = pl.log, pl.pos
}
