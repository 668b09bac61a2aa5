package storage

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is returned by a Batcher after Close.
var ErrClosed = errors.New("batcher closed")

// BatcherConfig sizes a Batcher.
type BatcherConfig struct {
	// Workers is the number of concurrent Apply calls on the ledger. Two keep
	// one batch in flight while the next one gathers.
	Workers int
	// MaxBatch caps the ops of one Apply call (one Redis pipeline, one bbolt
	// transaction).
	MaxBatch int
	// Queue bounds the ops waiting for a worker; callers block when it is full
	// (back-pressure instead of unbounded memory).
	Queue int
}

func (c *BatcherConfig) withDefaults() BatcherConfig {
	out := *c
	if out.Workers <= 0 {
		out.Workers = 2
	}
	if out.MaxBatch <= 0 {
		out.MaxBatch = 512
	}
	if out.Queue <= 0 {
		out.Queue = 8192
	}
	return out
}

// Batcher gathers the ops of concurrent callers into batches for one Ledger:
// a group commit. A worker takes whatever is queued (up to MaxBatch) the
// moment it is free, so a lone op waits for nothing and a burst shares one
// round trip and one fsync. Each op keeps its own atomic, idempotent result.
type Batcher struct {
	ledger Ledger
	cfg    BatcherConfig
	queue  chan *pending
	pool   sync.Pool

	mu     sync.RWMutex // guards closed against sends on a closed queue
	closed bool
	wg     sync.WaitGroup
}

type pending struct {
	op   Op
	res  Result
	err  error
	done chan struct{}
}

// NewBatcher starts the workers. Close stops them after the queue drains.
func NewBatcher(l Ledger, cfg BatcherConfig) *Batcher {
	cfg = cfg.withDefaults()
	b := &Batcher{ledger: l, cfg: cfg, queue: make(chan *pending, cfg.Queue)}
	b.pool.New = func() any { return &pending{done: make(chan struct{}, 1)} }
	b.wg.Add(cfg.Workers)
	for range cfg.Workers {
		go b.work()
	}
	return b
}

// Apply queues op and waits for its result. It is safe for concurrent use.
func (b *Batcher) Apply(op Op) (Result, error) {
	p := b.pool.Get().(*pending)
	p.op = op
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		b.pool.Put(p)
		return Result{}, ErrClosed
	}
	b.queue <- p
	b.mu.RUnlock()
	<-p.done
	res, err := p.res, p.err
	*p = pending{done: p.done}
	b.pool.Put(p)
	return res, err
}

// Close stops accepting ops, applies those already queued and waits for the
// workers.
func (b *Batcher) Close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *Batcher) work() {
	defer b.wg.Done()
	batch := make([]*pending, 0, b.cfg.MaxBatch)
	ops := make([]Op, 0, b.cfg.MaxBatch)
	for first := range b.queue {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < b.cfg.MaxBatch {
			select {
			case p, ok := <-b.queue:
				if !ok {
					break gather
				}
				batch = append(batch, p)
			default:
				break gather
			}
		}
		ops = ops[:0]
		for _, p := range batch {
			ops = append(ops, p.op)
		}
		// The ledger call is not tied to any one caller's context: a caller
		// that goes away must not cancel the others' ops.
		results, err := b.ledger.Apply(context.Background(), ops)
		for i, p := range batch {
			if err != nil {
				p.err = err
			} else {
				p.res = results[i]
			}
			p.done <- struct{}{}
		}
		clear(ops)
	}
}
