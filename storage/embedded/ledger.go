// Package embedded is the default ledger: pure Go and durable, one bbolt file
// in the data directory, for a single pixelpost node without Redis. It follows
// docs/ledger.md and passes storage/ledgertest.
//
// Apply runs a whole batch in one bolt write transaction: one commit (one
// fsync) per batch, the group commit storage.Batcher feeds. Bolt serialises
// write transactions, so concurrent Apply calls never interleave; reads run
// in parallel read transactions and see whole batches only.
package embedded

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/boltfile"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
)

// ErrClosed is returned by every method of a closed Ledger. It wraps
// storage.ErrUnavailable.
var ErrClosed = fmt.Errorf("embedded ledger closed: %w", storage.ErrUnavailable)

// Config tunes the embedded ledger. The zero value is the production setting.
type Config struct {
	// NoSync skips the fsync of each commit: a crash can lose the last
	// batches or corrupt the file. For benchmarks and throwaway tests only.
	NoSync bool
	// Timeout bounds the wait for the file lock when another process holds
	// the file open; 0 means 5 seconds.
	Timeout time.Duration
}

// Ledger is the embedded storage.Ledger. It is safe for concurrent use.
type Ledger struct {
	db     *boltfile.DB // its transactions exclude ScrubFreePages
	closed atomic.Bool
}

var _ storage.Ledger = (*Ledger)(nil)

// Open opens (creating if needed) the ledger file at path. Only one process
// can have it open: a second Open waits for Config.Timeout, then fails.
func Open(path string, cfg Config) (*Ledger, error) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	db, err := boltfile.Open(path, timeout, cfg.NoSync)
	if err != nil {
		return nil, fmt.Errorf("cannot open embedded ledger %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := boltfile.InitLayout(tx, layoutVersion, bucketAccounts, bucketHits, bucketHitDays); err != nil {
			return err
		}
		if err := indexClicks(tx); err != nil {
			return err
		}
		return indexTies(tx)
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("cannot initialise embedded ledger %s: %w", path, err)
	}
	return &Ledger{db: db}, nil
}

// Close closes the file after the transactions in flight. It is idempotent.
func (l *Ledger) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	if err := l.db.Close(); err != nil {
		return fmt.Errorf("cannot close embedded ledger: %w", err)
	}
	return nil
}

// Path is the file the ledger lives in.
func (l *Ledger) Path() string { return l.db.Path() }

// view runs a read transaction, mapping a closed database to ErrClosed.
func (l *Ledger) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if l.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return l.wrap(l.db.View(fn))
}

func (l *Ledger) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if l.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return l.wrap(l.db.Update(fn))
}

// wrap maps bolt's errors: a closed database is ErrClosed; errors of our own
// (ErrNotFound, decoding) pass through.
func (l *Ledger) wrap(err error) error {
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Ping reports whether the file is open and readable.
func (l *Ledger) Ping(ctx context.Context) error {
	return l.view(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketAccounts) == nil {
			return errors.New("embedded ledger: accounts bucket missing")
		}
		return nil
	})
}

// PutAccount creates or replaces an account's name and default currency.
func (l *Ledger) PutAccount(ctx context.Context, a storage.Account) error {
	if a.ID == "" || len(a.ID) > maxIDLen {
		return fmt.Errorf("cannot put account: invalid id of %d bytes", len(a.ID))
	}
	err := l.update(ctx, func(tx *bolt.Tx) error {
		root, err := tx.Bucket(bucketAccounts).CreateBucketIfNotExists([]byte(a.ID))
		if err != nil {
			return err
		}
		for _, name := range accountBuckets {
			if _, err := root.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		rec := accountRec{Name: a.Name, DefaultCurrency: a.DefaultCurrency, MaxAmount: a.MaxAmount}
		return root.Put(keyAccount, rec.encode())
	})
	if err != nil {
		return fmt.Errorf("cannot put account %q: %w", a.ID, err)
	}
	return nil
}

// Account returns an account, or ErrNotFound.
func (l *Ledger) Account(ctx context.Context, id string) (storage.Account, error) {
	var out storage.Account
	err := l.view(ctx, func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, id)
		if !ok {
			return notFound("account", id)
		}
		rec, err := decodeAccount(b.root.Get(keyAccount))
		if err != nil {
			return err
		}
		out = storage.Account{ID: id, Name: rec.Name, DefaultCurrency: rec.DefaultCurrency, MaxAmount: rec.MaxAmount}
		return nil
	})
	return out, err
}

func notFound(what, id string) error {
	return fmt.Errorf("%s %q: %w", what, id, storage.ErrNotFound)
}

// PutWebinar creates or replaces a webinar's name and tags (decide's
// PutWebinar) and updates the tag index in the same transaction.
func (l *Ledger) PutWebinar(ctx context.Context, account string, w storage.Webinar) error {
	if err := decide.CheckWebinar(w); err != nil {
		return err
	}
	err := l.update(ctx, func(tx *bolt.Tx) error {
		t := newTxn(tx)
		v := t.view(account)
		if !v.ok {
			return notFound("account", account)
		}
		d := decide.New(v)
		if err := d.PutWebinar(w); err != nil {
			return err
		}
		return t.write(account, d.Changes())
	})
	if err != nil {
		return fmt.Errorf("cannot put webinar %q of account %q: %w", w.ID, account, err)
	}
	return nil
}

// Webinars lists configured webinars and those first seen in hits, sorted by id.
func (l *Ledger) Webinars(ctx context.Context, account string) ([]storage.Webinar, error) {
	var out []storage.Webinar
	err := l.view(ctx, func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, account)
		if !ok {
			return notFound("account", account)
		}
		return b.webinars.ForEach(func(k, v []byte) error {
			rec, err := decodeWebinar(v)
			if err != nil {
				return err
			}
			tags := rec.Tags
			if tags == nil {
				tags = []string{}
			}
			out = append(out, storage.Webinar{ID: string(k), Name: rec.Name, Tags: tags})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list webinars of account %q: %w", account, err)
	}
	if out == nil {
		out = []storage.Webinar{}
	}
	return out, nil
}

// WebinarStats returns a webinar's totals, or ErrNotFound when the webinar
// is not listed.
func (l *Ledger) WebinarStats(ctx context.Context, account, webinarID string) (storage.WebinarStats, error) {
	var out storage.WebinarStats
	err := l.view(ctx, func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, account)
		if !ok {
			return notFound("account", account)
		}
		if b.webinars.Get([]byte(webinarID)) == nil {
			return notFound("webinar", webinarID)
		}
		rec := &statsRec{}
		if v := b.stats.Get([]byte(webinarID)); v != nil {
			var err error
			if rec, err = decodeStats(v); err != nil {
				return err
			}
		}
		out = storage.WebinarStats{
			Registrants:          rec.Registrants,
			Converted:            rec.Converted,
			ConvertedRegistrants: rec.ConvertedRegistrants,
			Sales:                rec.Sales,
			Revenue:              rec.Revenue.Public(),
		}
		return nil
	})
	if err != nil {
		return storage.WebinarStats{}, fmt.Errorf("cannot read stats of webinar %q of account %q: %w", webinarID, account, err)
	}
	return out, nil
}

// Attendee returns the attendee of a normalised email with its orders, or
// ErrNotFound.
func (l *Ledger) Attendee(ctx context.Context, account, email string) (storage.Attendee, error) {
	return l.AttendeeByID(ctx, account, attribution.EmailAttendeeID(email))
}

// AttendeeByID returns an attendee by id with its orders, or ErrNotFound.
func (l *Ledger) AttendeeByID(ctx context.Context, account, id string) (storage.Attendee, error) {
	var out storage.Attendee
	err := l.view(ctx, func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, account)
		if !ok {
			return notFound("account", account)
		}
		v := b.attendees.Get([]byte(id))
		if v == nil {
			return notFound("attendee", id)
		}
		var err error
		out, err = readAttendee(b, id, v)
		return err
	})
	if err != nil {
		return storage.Attendee{}, fmt.Errorf("cannot read attendee of account %q: %w", account, err)
	}
	return out, nil
}

// attendeesPage is how many attendees Attendees reads per transaction.
const attendeesPage = 500

// Attendees walks the account's attendees that have an email, a page per
// read transaction, fn called between them: fn may use the ledger (a read
// transaction opened while another is open in the same goroutine can
// deadlock bbolt when a writer waits to grow the file).
func (l *Ledger) Attendees(ctx context.Context, account string, fn func(storage.Attendee) error) error {
	var after []byte
	for {
		var page []storage.Attendee
		err := l.view(ctx, func(tx *bolt.Tx) error {
			b, ok := openAccount(tx, account)
			if !ok {
				return notFound("account", account)
			}
			c := b.attendees.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(page) < attendeesPage; k, v = c.Next() {
				after = bytes.Clone(k)
				a, err := readAttendee(b, string(k), v)
				if err != nil {
					return err
				}
				if a.Email != "" {
					page = append(page, a)
				}
			}
			if k == nil {
				after = nil // the end
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, a := range page {
			if err := fn(a); err != nil {
				return err
			}
		}
		if after == nil {
			return nil
		}
	}
}

// readAttendee decodes an attendee record and reads its orders.
func readAttendee(b acctBuckets, id string, v []byte) (storage.Attendee, error) {
	rec, err := decodeAttendee(v)
	if err != nil {
		return storage.Attendee{}, err
	}
	a := storage.Attendee{
		ID:          id,
		Email:       rec.Email,
		Orders:      rec.Orders,
		LTV:         rec.LTV.Public(),
		Webinars:    orEmpty(rec.Webinars),
		Acquisition: orEmpty(rec.Acquisition),
	}
	a.OrderList, err = attendeeOrders(b, id)
	return a, err
}

// attendeeOrders reads an attendee's orders by first seen, ties by key.
func attendeeOrders(b acctBuckets, attendeeID string) ([]storage.Order, error) {
	out := []storage.Order{}
	prefix := lp(nil, attendeeID)
	c := b.attOrders.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) < len(prefix)+8 {
			return nil, fmt.Errorf("attendee order index: %w", decide.ErrCorrupt)
		}
		key := k[len(prefix)+8:]
		if len(v) == 0 {
			v = b.orders.Get(key)
			if v == nil {
				return nil, fmt.Errorf("order %q of attendee %q: %w", key, attendeeID, decide.ErrCorrupt)
			}
		}
		rec, err := decodeOrder(v)
		if err != nil {
			return nil, err
		}
		out = append(out, rec.Public())
	}
	return out, nil
}

// Registrants lists a webinar's registrants, oldest first, ties by attendee
// id; ErrNotFound when the webinar is not listed.
func (l *Ledger) Registrants(ctx context.Context, account, webinarID string) ([]storage.Registrant, error) {
	out := []storage.Registrant{}
	err := l.view(ctx, func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, account)
		if !ok {
			return notFound("account", account)
		}
		if b.webinars.Get([]byte(webinarID)) == nil {
			return notFound("webinar", webinarID)
		}
		prefix := lp(nil, webinarID)
		c := b.registrants.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(v) < 8 {
				return fmt.Errorf("registrant: %w", decide.ErrCorrupt)
			}
			out = append(out, storage.Registrant{
				AttendeeID:   string(k[len(prefix):]),
				Email:        string(v[8:]),
				RegisteredAt: fromNanos(timeFromKey(v)),
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list registrants of webinar %q of account %q: %w", webinarID, account, err)
	}
	slices.SortStableFunc(out, func(a, b storage.Registrant) int {
		return cmp.Or(a.RegisteredAt.Compare(b.RegisteredAt), cmp.Compare(a.AttendeeID, b.AttendeeID))
	})
	return out, nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
