package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/decide"
)

var _ storage.StateDumper = (*Ledger)(nil)

// DumpAccount reads everything of an account in one read transaction
// (storage.StateDumper). Remembered hit ids and the day indexes are
// bookkeeping and left out. An entry the dump cannot place (a bucket it
// does not know, totals of a webinar that is not listed) is an error: a
// layout change must teach the dump, or a rule leaves strays.
func (l *Ledger) DumpAccount(ctx context.Context, account string) (storage.AccountState, error) {
	var s storage.AccountState
	err := l.view(ctx, func(tx *bolt.Tx) error {
		b, ok := openAccount(tx, account)
		if !ok {
			return notFound("account", account)
		}
		var err error
		s, err = dumpAccount(tx, b, account)
		return err
	})
	if err != nil {
		return storage.AccountState{}, fmt.Errorf("cannot dump account %q: %w", account, err)
	}
	s.Normalize()
	return s, nil
}

// dumpBuckets are the sub-buckets of an account the dump knows.
var dumpBuckets = map[string]bool{}

func init() {
	for _, name := range append(accountBuckets, bucketClicks, bucketConvs, bucketProfiles, bucketAttClicks,
		bucketClickAtts, bucketErased, bucketConfig, bucketMarks, bucketResults) {
		dumpBuckets[string(name)] = true
	}
}

func dumpAccount(tx *bolt.Tx, b acctBuckets, account string) (storage.AccountState, error) {
	rec, err := decodeAccount(b.root.Get(keyAccount))
	if err != nil {
		return storage.AccountState{}, err
	}
	s := storage.AccountState{
		Account:        storage.Account{ID: account, Name: rec.Name, DefaultCurrency: rec.DefaultCurrency, MaxAmount: rec.MaxAmount},
		Webinars:       map[string]storage.WebinarState{},
		Tags:           map[string][]string{},
		Orders:         map[string]storage.Order{},
		Attendees:      map[string]storage.AttendeeState{},
		OrphanProfiles: map[string]map[string]string{},
		Cookies:        map[string]string{},
		Clicks:         map[string]storage.ClickRec{},
		Conversions:    map[string]storage.ConvRec{},
		ClickTies:      map[string][]string{},
		Erased:         map[string]time.Time{},
		Configs:        map[string]map[string]string{},
		Claims:         map[string][]string{},
	}
	err = b.root.ForEach(func(k, v []byte) error {
		if v == nil && !dumpBuckets[string(k)] {
			return fmt.Errorf("unknown bucket %q", k)
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	steps := []func() error{
		func() error { return dumpWebinars(b, &s) },
		func() error { return dumpOrders(b, &s) },
		func() error { return dumpAttendees(b, &s) },
		func() error { return dumpConverted(&s) },
		func() error { return dumpS2S(b, &s) },
		func() error { return dumpConfig(tx, b, account, &s) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return s, err
		}
	}
	return s, nil
}

// dumpConverted lists each webinar's converted attendees: those whose
// record says an order of theirs was credited to it (the converted bucket
// of earlier builds is no longer kept).
func dumpConverted(s *storage.AccountState) error {
	for id, a := range s.Attendees {
		for _, w := range a.Webinars {
			ws, err := webinarOf(s, w, "converted attendee")
			if err != nil {
				return err
			}
			ws.Converted = append(ws.Converted, id)
			s.Webinars[w] = ws
		}
	}
	return nil
}

// webinarOf returns the state of a listed webinar, for an entry keyed by
// it; an entry of a webinar that is not listed is a stray.
func webinarOf(s *storage.AccountState, w, what string) (storage.WebinarState, error) {
	ws, ok := s.Webinars[w]
	if !ok {
		return ws, fmt.Errorf("%s of webinar %q, which is not listed", what, w)
	}
	return ws, nil
}

func dumpWebinars(b acctBuckets, s *storage.AccountState) error {
	err := b.webinars.ForEach(func(k, v []byte) error {
		rec, err := decodeWebinar(v)
		if err != nil {
			return err
		}
		s.Webinars[string(k)] = storage.WebinarState{Name: rec.Name, Tags: rec.Tags}
		return nil
	})
	if err != nil {
		return err
	}
	err = b.stats.ForEach(func(k, v []byte) error {
		ws, err := webinarOf(s, string(k), "totals")
		if err != nil {
			return err
		}
		rec, err := decodeStats(v)
		if err != nil {
			return err
		}
		ws.Stats = storage.WebinarStats{Registrants: rec.Registrants, Converted: rec.Converted,
			ConvertedRegistrants: rec.ConvertedRegistrants, Sales: rec.Sales, Revenue: rec.Revenue.Public()}
		s.Webinars[string(k)] = ws
		return nil
	})
	if err != nil {
		return err
	}
	err = b.registrants.ForEach(func(k, v []byte) error {
		w, id, ok := unpair(k)
		if !ok || len(v) < 8 {
			return fmt.Errorf("registrant: %w", decide.ErrCorrupt)
		}
		ws, err := webinarOf(s, w, "registrant")
		if err != nil {
			return err
		}
		ws.Registrants = append(ws.Registrants, storage.Registrant{AttendeeID: id, Email: string(v[8:]),
			RegisteredAt: fromNanos(timeFromKey(v))})
		s.Webinars[w] = ws
		return nil
	})
	if err != nil {
		return err
	}
	return b.tags.ForEach(func(k, _ []byte) error {
		tag, w, ok := unpair(k)
		if !ok {
			return fmt.Errorf("tag index: %w", decide.ErrCorrupt)
		}
		h := storage.HashID(tag)
		s.Tags[h] = append(s.Tags[h], w)
		return nil
	})
}

func dumpOrders(b acctBuckets, s *storage.AccountState) error {
	err := b.orders.ForEach(func(k, v []byte) error {
		rec, err := decodeOrder(v)
		if err != nil {
			return err
		}
		s.Orders[string(k)] = rec.Public()
		return nil
	})
	if err != nil {
		return err
	}
	// Live entries of the attendee order index are read with their
	// attendee; the others are replaced orders.
	return b.attOrders.ForEach(func(_, v []byte) error {
		if len(v) == 0 {
			return nil
		}
		rec, err := decodeOrder(v)
		if err != nil {
			return err
		}
		s.Replaced = append(s.Replaced, rec.Public())
		return nil
	})
}

func dumpAttendees(b acctBuckets, s *storage.AccountState) error {
	err := b.attendees.ForEach(func(k, v []byte) error {
		a, err := readAttendee(b, string(k), v)
		if err != nil {
			return err
		}
		s.Attendees[string(k)] = storage.AttendeeState{Attendee: a}
		return nil
	})
	if err != nil {
		return err
	}
	if pb := b.root.Bucket(bucketProfiles); pb != nil {
		err := pb.ForEach(func(k, v []byte) error {
			prof := map[string]string{}
			if err := json.Unmarshal(v, &prof); err != nil {
				return fmt.Errorf("profile of %q: %w", k, err)
			}
			if a, ok := s.Attendees[string(k)]; ok {
				a.Profile = prof
				s.Attendees[string(k)] = a
			} else {
				s.OrphanProfiles[storage.HashID(string(k))] = prof
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	err = b.cookies.ForEach(func(k, v []byte) error {
		s.Cookies[string(k)] = string(v)
		return nil
	})
	if err != nil {
		return err
	}
	if eb := b.root.Bucket(bucketErased); eb != nil {
		return eb.ForEach(func(k, v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("tombstone of %q: %w", k, decide.ErrCorrupt)
			}
			s.Erased[string(k)] = fromNanos(timeFromKey(v))
			return nil
		})
	}
	return nil
}

func dumpS2S(b acctBuckets, s *storage.AccountState) error {
	if cb := b.root.Bucket(bucketClicks); cb != nil {
		err := cb.ForEach(func(k, v []byte) error {
			var c storage.ClickRec
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("click %q: %w", k, err)
			}
			s.Clicks[storage.HashID(string(k))] = c
			return nil
		})
		if err != nil {
			return err
		}
	}
	if cb := b.root.Bucket(bucketConvs); cb != nil {
		err := cb.ForEach(func(k, v []byte) error {
			var c storage.ConvRec
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("conversion %q: %w", k, err)
			}
			s.Conversions[storage.HashID(string(k))] = c
			return nil
		})
		if err != nil {
			return err
		}
	}
	// The ties by attendee; those by click (clickatts) are the same
	// ties, indexed the other way: they must agree.
	ties := map[[2]string]bool{}
	if ab := b.root.Bucket(bucketAttClicks); ab != nil {
		err := ab.ForEach(func(k, _ []byte) error {
			id, click, ok := unpair(k)
			if !ok {
				return fmt.Errorf("click tie: %w", decide.ErrCorrupt)
			}
			ties[[2]string{id, click}] = true
			h := storage.HashID(id)
			s.ClickTies[h] = append(s.ClickTies[h], storage.HashID(click))
			return nil
		})
		if err != nil {
			return err
		}
	}
	if cb := b.root.Bucket(bucketClickAtts); cb != nil {
		err := cb.ForEach(func(k, _ []byte) error {
			click, id, ok := unpair(k)
			if !ok {
				return fmt.Errorf("click tie: %w", decide.ErrCorrupt)
			}
			if !ties[[2]string{id, click}] {
				return fmt.Errorf("click %q is tied to %q by click only", click, id)
			}
			delete(ties, [2]string{id, click})
			return nil
		})
		if err != nil {
			return err
		}
	}
	for t := range ties {
		return fmt.Errorf("click %q is tied to %q by attendee only", t[1], t[0])
	}
	return nil
}

func dumpConfig(tx *bolt.Tx, b acctBuckets, account string, s *storage.AccountState) error {
	if cfg := b.root.Bucket(bucketConfig); cfg != nil {
		err := cfg.ForEachBucket(func(kind []byte) error {
			docs := map[string]string{}
			s.Configs[string(kind)] = docs
			return cfg.Bucket(kind).ForEach(func(id, doc []byte) error {
				docs[string(id)] = string(doc)
				return nil
			})
		})
		if err != nil {
			return err
		}
	}
	routes := tx.Bucket(bucketRoutes)
	if routes == nil {
		return nil
	}
	return routes.ForEach(func(k, owner []byte) error {
		kind, id, ok := unpair(k)
		if !ok {
			return fmt.Errorf("route: %w", decide.ErrCorrupt)
		}
		if string(owner) == account {
			s.Claims[kind] = append(s.Claims[kind], id)
		}
		return nil
	})
}
