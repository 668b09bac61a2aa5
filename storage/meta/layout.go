package meta

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/internal/boltfile"
)

// The file:
//
//	meta              "version" -> 1
//	datasets/         one nested bucket per dataset, named lp(account) dataset id:
//	  "config"        -> Dataset (JSON, access token included: the file is 0600)
//	  "state"         -> stateRec (JSON): pause, consecutive failures, totals
//	  events/         lp(lead_id) event_name -> eventRec (JSON): the dedupe key
//	  queue/          8-byte big-endian sequence -> events key; pending events
//	                  in enqueue order
//	  rejected/       8-byte big-endian sequence -> eventRec; the latest
//	                  maxRejectedKept events refused by Enqueue
//
// lp(s) is s prefixed with its length as a uvarint, so composite keys are
// unambiguous whatever bytes the ids contain and a prefix scan over lp(lead)
// finds exactly that lead's stages.
var (
	bucketDatasets = []byte("datasets")
	bucketEvents   = []byte("events")
	bucketQueue    = []byte("queue")
	bucketRejected = []byte("rejected")
	keyConfig      = []byte("config")
	keyState       = []byte("state")
)

const layoutVersion = 1

// maxRejectedKept bounds the rejected events kept per dataset: enough to
// debug a CRM mapping, bounded whatever a misconfigured CRM sends.
const maxRejectedKept = 10_000

var errCorrupt = errors.New("corrupt record")

// eventRec is an event as stored.
type eventRec struct {
	LeadID          string    `json:"lead_id"`
	EventName       string    `json:"event_name"`
	EventTime       time.Time `json:"event_time,omitzero"`
	LeadEventSource string    `json:"lead_event_source,omitempty"`
	Status          string    `json:"status"`
	Error           string    `json:"error,omitempty"`
	EnqueuedAt      time.Time `json:"enqueued_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	SentAt          time.Time `json:"sent_at,omitzero"`
	Attempts        int       `json:"attempts,omitempty"`
	FBTraceID       string    `json:"fbtrace_id,omitempty"`
	Seq             uint64    `json:"seq,omitempty"` // queue key while pending
}

// stateRec is the persistent sending state of a dataset.
type stateRec struct {
	PausedUntil    time.Time `json:"paused_until,omitzero"`
	Failures       int       `json:"failures,omitempty"`
	LastError      string    `json:"last_error,omitempty"`
	EventsReceived int64     `json:"events_received,omitempty"` // sum of Meta's events_received
	LastFBTraceID  string    `json:"last_fbtrace_id,omitempty"`
	LastSentAt     time.Time `json:"last_sent_at,omitzero"`
}

// dsKey names a dataset in memory.
type dsKey struct{ account, id string }

// dsState is the in-memory sending state of a dataset, under stMu.
type dsState struct {
	stateRec
	pending int       // events in the queue bucket, as committed
	since   time.Time // when the oldest pending event began waiting for a batch
	busy    bool      // a flush is under way
	off     bool      // the dataset is switched off (Dataset.Enabled): nothing is sent
}

// lp appends the length-prefixed s to b.
func lp(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func datasetKey(account, id string) []byte { return append(lp(nil, account), id...) }

func parseDatasetKey(k []byte) (dsKey, bool) {
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) < n {
		return dsKey{}, false
	}
	return dsKey{account: string(k[w : w+int(n)]), id: string(k[w+int(n):])}, true
}

func eventKey(leadID, name string) []byte { return append(lp(nil, leadID), name...) }

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// dsBucket is the bucket of a dataset, or nil.
func dsBucket(tx *bolt.Tx, account, id string) *bolt.Bucket {
	return tx.Bucket(bucketDatasets).Bucket(datasetKey(account, id))
}

func decode[T any](v []byte, what string) (T, error) {
	var r T
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("%s: %w: %v", what, errCorrupt, err)
	}
	return r, nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, buf)
}

func getState(b *bolt.Bucket) (stateRec, error) {
	v := b.Get(keyState)
	if v == nil {
		return stateRec{}, nil
	}
	return decode[stateRec](v, "state")
}

// load creates the buckets and rebuilds the in-memory state of every
// dataset from the file.
func (f *Forwarder) load() error {
	now := f.now()
	return f.db.Update(func(tx *bolt.Tx) error {
		if err := boltfile.InitLayout(tx, layoutVersion, bucketDatasets); err != nil {
			return err
		}
		all := tx.Bucket(bucketDatasets)
		return all.ForEachBucket(func(k []byte) error {
			key, ok := parseDatasetKey(k)
			if !ok {
				return fmt.Errorf("dataset key %x: %w", k, errCorrupt)
			}
			b := all.Bucket(k)
			st, err := getState(b)
			if err != nil {
				return fmt.Errorf("dataset %s: %w", key.id, err)
			}
			s := &dsState{stateRec: st, since: now}
			if v := b.Get(keyConfig); v != nil {
				d, err := decode[Dataset](v, "dataset "+key.id)
				if err != nil {
					return err
				}
				s.off = !d.sending()
			}
			if q := b.Bucket(bucketQueue); q != nil {
				s.pending = q.Stats().KeyN
			}
			f.states[key] = s
			return nil
		})
	})
}

// createDatasetBuckets makes the sub-buckets of a new dataset bucket.
func createDatasetBuckets(b *bolt.Bucket) error {
	for _, name := range [][]byte{bucketEvents, bucketQueue, bucketRejected} {
		if _, err := b.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}
