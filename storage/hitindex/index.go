// Package hitindex answers the reports on the embedded default, without
// ClickHouse (SPEC §5): it follows the rows log (the decided hits the
// applier writes, the raw-hit archive there) and indexes every row by
// account and time in its own bbolt file, so that the campaign report, the
// webinar series, hits by status and the logs (storage.Reports) are
// answered here with the same figures as ClickHouse's
// (storage/reportstest compares them, to the micro-unit).
//
// The file:
//
//	meta          "version" -> 1; "pos" -> the rows-log position indexed up
//	              to (8 bytes, big-endian), written with the rows before it
//	accounts/<account>/
//	  facts/      key -> fact (what the reports add up and filter on)
//	  rows/       key -> the row (storage.AppendHit), for the logs
//	  clicks/     lp(click id) key -> ""     (a click and its postbacks)
//	  people/     lp("a" attendee id | "e" email hash) key -> "" (erasure)
//
// key is the hit's time in Unix milliseconds (8 bytes, big-endian) then
// its id: the order of the hits table (ts_ms, hit_id), so a report reads
// one contiguous range of keys. lp(s) is s prefixed with its length
// (uvarint). A row written again (a replayed hit) replaces the row of the
// same key, except that a degraded replay copy never replaces a row (as
// in ClickHouse, see storage.Hit.IsDegradedReplay).
//
// The index can always be rebuilt: delete the file and it is indexed
// again from the rows log at the next start (the rows of erased people
// are left out, as for ClickHouse).
package hitindex

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/internal/boltfile"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/wal"
)

const layoutVersion = 1

var (
	bucketMeta     = []byte("meta")
	bucketAccounts = []byte("accounts")
	bucketFacts    = []byte("facts")
	bucketRows     = []byte("rows")
	bucketClicks   = []byte("clicks")
	bucketPeople   = []byte("people")
	keyPos         = []byte("pos")

	accountBuckets = [][]byte{bucketFacts, bucketRows, bucketClicks, bucketPeople}
)

// Config says where the index lives.
type Config struct {
	Path string // the bbolt file, created if missing
	// NoSync skips fsync (tests and benchmarks: a crash may lose the last
	// batches, which the index reads again from the rows log).
	NoSync bool
}

// Index is safe for concurrent use: reports read while the follower
// writes (bbolt: one writer, many readers).
type Index struct {
	path   string
	noSync bool
	db     *boltfile.DB

	pos    atomic.Uint64 // rows-log position indexed up to
	posMu  sync.Mutex
	posCh  chan struct{} // closed and replaced when pos moves
	rowsIn atomic.Uint64 // rows indexed since start
	bad    atomic.Uint64 // rows-log records that did not decode
	// scrubPending: an erasure's scrub failed; the next one retries.
	scrubPending atomic.Bool
}

// Open opens (creating if needed) the index file.
func Open(cfg Config) (*Index, error) {
	db, err := boltfile.Open(cfg.Path, 5*time.Second, cfg.NoSync)
	if err != nil {
		return nil, fmt.Errorf("cannot open hit index: %w", err)
	}
	x := &Index{path: cfg.Path, noSync: cfg.NoSync, db: db, posCh: make(chan struct{})}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := boltfile.InitLayout(tx, layoutVersion, bucketAccounts); err != nil {
			return err
		}
		if v := tx.Bucket(bucketMeta).Get(keyPos); len(v) == 8 {
			x.pos.Store(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot open hit index: %w", err)
	}
	return x, nil
}

// Close closes the file. Call it after Follow returned.
func (x *Index) Close() error {
	return x.db.Close()
}

// update and view run a transaction on the current file.
func (x *Index) update(fn func(tx *bolt.Tx) error) error {
	return x.db.Update(fn)
}

// Pos is the rows-log position the index holds every row before.
func (x *Index) Pos() wal.Pos { return wal.Pos(x.pos.Load()) }

func (x *Index) setPos(p wal.Pos) {
	x.pos.Store(uint64(p))
	x.posMu.Lock()
	close(x.posCh)
	x.posCh = make(chan struct{})
	x.posMu.Unlock()
}

// WaitIndexed waits until every row before pos is indexed (or skipped as
// unreadable), or ctx ends: a report or an erasure that must see the hits
// decided before it.
func (x *Index) WaitIndexed(ctx context.Context, pos wal.Pos) error {
	for {
		x.posMu.Lock()
		ch := x.posCh
		x.posMu.Unlock()
		if x.Pos() >= pos {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("cannot wait for the hit index: %w", ctx.Err())
		}
	}
}

// Stats are the index's figures, for /metrics.
type Stats struct {
	Rows       uint64 // rows indexed since start
	BadRecords uint64 // rows-log records that did not decode, skipped
}

// Stats returns current figures.
func (x *Index) Stats() Stats { return Stats{Rows: x.rowsIn.Load(), BadRecords: x.bad.Load()} }

// Add indexes decided rows and records that the rows log is indexed up to
// pos, in one transaction: after a crash the index resumes from a
// position consistent with its rows. Rows without an account (hits for
// unknown accounts) are not reported on and are left out. Idempotent by
// hit id.
func (x *Index) Add(hits []storage.Hit, pos wal.Pos) error {
	err := x.update(func(tx *bolt.Tx) error {
		w := writer{tx: tx, accounts: map[string]*acctBuckets{}}
		for i := range hits {
			if err := w.add(&hits[i]); err != nil {
				return err
			}
		}
		var p [8]byte
		binary.BigEndian.PutUint64(p[:], uint64(pos))
		return tx.Bucket(bucketMeta).Put(keyPos, p[:])
	})
	if err != nil {
		return fmt.Errorf("cannot index %d rows: %w", len(hits), err)
	}
	x.rowsIn.Add(uint64(len(hits)))
	x.setPos(pos)
	return nil
}

// acctBuckets are one account's buckets in a transaction.
type acctBuckets struct {
	facts, rows, clicks, people *bolt.Bucket
}

func openAccount(tx *bolt.Tx, account string) (*acctBuckets, bool) {
	root := tx.Bucket(bucketAccounts).Bucket([]byte(account))
	if root == nil {
		return nil, false
	}
	return &acctBuckets{facts: root.Bucket(bucketFacts), rows: root.Bucket(bucketRows),
		clicks: root.Bucket(bucketClicks), people: root.Bucket(bucketPeople)}, true
}

type writer struct {
	tx       *bolt.Tx
	accounts map[string]*acctBuckets
	buf      []byte
	f        fact
}

func (w *writer) account(id string) (*acctBuckets, error) {
	if b, ok := w.accounts[id]; ok {
		return b, nil
	}
	root, err := w.tx.Bucket(bucketAccounts).CreateBucketIfNotExists([]byte(id))
	if err != nil {
		return nil, err
	}
	for _, name := range accountBuckets {
		if _, err := root.CreateBucketIfNotExists(name); err != nil {
			return nil, err
		}
	}
	b, _ := openAccount(w.tx, id)
	// Keys come in time order: full pages (bbolt's default, half-full
	// pages, suits random inserts and doubles this file).
	b.facts.FillPercent, b.rows.FillPercent = 0.95, 0.95
	w.accounts[id] = b
	return b, nil
}

func (w *writer) add(h *storage.Hit) error {
	if h.Account == "" {
		return nil
	}
	b, err := w.account(h.Account)
	if err != nil {
		return err
	}
	row := reportRow(h)
	key := rowKey(row.Time.UnixMilli(), row.ID)
	if old := b.facts.Get(key); old != nil {
		if row.IsDegradedReplay() {
			return nil // the original row stays
		}
		if err := w.unindex(b, key, old); err != nil {
			return err
		}
	}
	f := newFact(&row)
	if row.Kind == storage.KindPostback && row.ClickID != "" {
		f.clickSource, f.clickNetwork = w.clickOf(b, row.ClickID)
	}
	if err := b.facts.Put(key, f.encode(nil)); err != nil {
		return err
	}
	if err := b.rows.Put(key, storage.AppendHit(nil, &row)); err != nil {
		return err
	}
	if row.ClickID != "" {
		if err := b.clicks.Put(lpKey(row.ClickID, key), empty); err != nil {
			return err
		}
	}
	for _, p := range personKeys(row.AttendeeID, row.EmailSHA256) {
		if err := b.people.Put(lpKey(p, key), empty); err != nil {
			return err
		}
	}
	if row.Kind == storage.KindClick && row.Status == storage.StatusAccepted {
		// Postbacks indexed before their click (rows added out of order)
		// learn its source and network now.
		return w.setClickOf(b, row.ClickID, row.SourceID, row.NetworkID)
	}
	return nil
}

// setClickOf records a click's source and network on the postbacks of
// that click already indexed.
func (w *writer) setClickOf(b *acctBuckets, clickID, source, network string) error {
	prefix := lpKey(clickID, nil)
	var keys [][]byte
	c := b.clicks.Cursor()
	for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k[len(prefix):]...))
	}
	for _, key := range keys {
		v := b.facts.Get(key)
		if v == nil || decodeFact(v, &w.f) != nil || w.f.kind != storage.KindPostback ||
			(w.f.clickSource == source && w.f.clickNetwork == network) {
			continue
		}
		w.f.clickSource, w.f.clickNetwork = source, network
		w.buf = w.f.encode(w.buf[:0]) // copies every aliased string
		if err := b.facts.Put(key, append([]byte(nil), w.buf...)); err != nil {
			return err
		}
	}
	return nil
}

// unindex removes the secondary entries of the row at key (its fact old).
func (w *writer) unindex(b *acctBuckets, key, old []byte) error {
	if err := decodeFact(old, &w.f); err != nil {
		return nil // nothing reliable to remove: the row is replaced
	}
	// The fact aliases the page it was read from: build every key first.
	var clickKey []byte
	if w.f.clickID != "" {
		clickKey = lpKey(w.f.clickID, key)
	}
	var people [][]byte
	for _, p := range personKeys(w.f.attendeeID, w.f.emailSHA256) {
		people = append(people, lpKey(p, key))
	}
	if clickKey != nil {
		if err := b.clicks.Delete(clickKey); err != nil {
			return err
		}
	}
	for _, k := range people {
		if err := b.people.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// clickOf returns the source and network of the accepted click with this
// id, if the index has it.
func (w *writer) clickOf(b *acctBuckets, clickID string) (source, network string) {
	prefix := lpKey(clickID, nil)
	c := b.clicks.Cursor()
	for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
		v := b.facts.Get(k[len(prefix):])
		if v == nil || decodeFact(v, &w.f) != nil {
			continue
		}
		if w.f.kind == storage.KindClick && w.f.status == string(storage.StatusAccepted) {
			return clone(w.f.source), clone(w.f.network)
		}
	}
	return "", ""
}

// reportRow is the row as the index keeps it: what the hits table holds
// (time in milliseconds; no ledger-only fields).
func reportRow(h *storage.Hit) storage.Hit {
	r := h.Archived()
	r.Time = storage.ReportTime(h.Time)
	r.Valuation, r.ClickTTL, r.PixelConversions = nil, 0, nil
	r.PrevConvStatus, r.PrevValue = "", 0
	r.Webinars, r.Credited = nil, nil
	// As the hits table gives rows back: webinar_ids is what a rejected
	// hit named, what the ledger credited otherwise.
	if ids := h.WebinarIDs(); h.Status == storage.StatusRejected {
		if len(ids) > 0 {
			r.Webinars = ids
		}
	} else {
		r.Credited = nonNil(ids)
	}
	return r
}

var empty = []byte{}

// rowKey is the key of a row: time (ms, big-endian) then hit id.
func rowKey(ms int64, id string) []byte {
	k := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(k, uint64(max(ms, 0)))
	return append(k, id...)
}

func keyMillis(k []byte) int64 { return int64(binary.BigEndian.Uint64(k[:8])) }

// lpKey is lp(s) followed by rest.
func lpKey(s string, rest []byte) []byte {
	k := binary.AppendUvarint(make([]byte, 0, 2+len(s)+len(rest)), uint64(len(s)))
	return append(append(k, s...), rest...)
}

func personKeys(attendeeID, emailSHA256 string) []string {
	var out []string
	if attendeeID != "" {
		out = append(out, "a"+attendeeID)
	}
	if emailSHA256 != "" {
		out = append(out, "e"+emailSHA256)
	}
	return out
}

func hasPrefix(k, prefix []byte) bool {
	return len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix)
}

func clone(s string) string { return string([]byte(s)) }

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// view runs a read transaction after checking ctx.
func (x *Index) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return x.db.View(fn)
}

var errStop = errors.New("stop")
