package meta

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/pixelpost/pixelpost/internal/secret"
	"github.com/pixelpost/pixelpost/storage/outbox"
)

// Dataset defaults.
const (
	DefaultAPIVersion   = "v21.0"
	DefaultGraphBase    = "https://graph.facebook.com"
	DefaultPartnerAgent = "pixelpost"
)

// Limits checked by PutDataset and Enqueue (bbolt keys are at most 32 KiB).
const (
	maxAccountLen = 256
	maxFieldLen   = 4096
)

var (
	reDatasetID  = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)
	reAPIVersion = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,3}$`)
)

// Dataset is a Meta dataset (a CRM "pixel") events are sent to, with the
// credentials to do so (SPEC §8 meta-datasets).
//
// AccessToken is a secret: Dataset values returned by this package carry it
// (they are what the sender uses); an API must answer with Redacted. String
// redacts it too, so a Dataset printed by mistake does not leak it.
type Dataset struct {
	ID      string `json:"dataset_id"` // Meta's dataset id; part of the URL path
	Account string `json:"account"`
	// AccessToken is sent in the request body, never in the URL.
	AccessToken string `json:"access_token"`
	// APIVersion is the Graph API version, such as "v21.0". "": DefaultAPIVersion.
	APIVersion string `json:"api_version"`
	// PartnerAgent is the partner_agent string Meta attributes events to.
	// "": DefaultPartnerAgent.
	PartnerAgent string `json:"partner_agent"`
	// GraphBase is the Graph API's scheme and host ("": DefaultGraphBase);
	// tests point it at a local server.
	GraphBase string `json:"graph_base"`
	// TestEventCode, when set, is sent with every request: Meta shows the
	// events in the Test Events tool and does not use them.
	TestEventCode string `json:"test_event_code,omitempty"`
	// LeadEventSource is the CRM name ("Salesforce", "HubSpot") for events
	// that do not name theirs.
	LeadEventSource string `json:"lead_event_source,omitempty"`
	// Enabled false pauses sending: events are still validated and queued,
	// and go when it is switched on again (those then older than
	// Config.MaxAge fail, as Meta refuses them). Stored with its effective
	// value; nil (stored before the switch existed) is on.
	Enabled *bool `json:"enabled,omitempty"`
}

// sending reports whether events may be sent to d (see Enabled).
func (d Dataset) sending() bool { return d.Enabled == nil || *d.Enabled }

// Redacted returns d with AccessToken masked but for its last 4
// characters, for an API answer or a log.
func (d Dataset) Redacted() Dataset {
	d.AccessToken = secret.Mask(d.AccessToken)
	return d
}

// String describes d without its access token.
func (d Dataset) String() string {
	r := d.Redacted()
	return fmt.Sprintf("meta dataset %s of %s (%s %s, token %s)", r.ID, r.Account, r.GraphBase, r.APIVersion, r.AccessToken)
}

// normalise fills in the defaults and validates d, reporting every problem.
func (d *Dataset) normalise(allowPrivate bool) error {
	d.GraphBase = strings.TrimRight(strings.TrimSpace(d.GraphBase), "/")
	if d.GraphBase == "" {
		d.GraphBase = DefaultGraphBase
	}
	if d.APIVersion == "" {
		d.APIVersion = DefaultAPIVersion
	}
	if d.PartnerAgent == "" {
		d.PartnerAgent = DefaultPartnerAgent
	}
	on := d.sending()
	d.Enabled = &on
	var probs []string
	if d.Account == "" || len(d.Account) > maxAccountLen {
		probs = append(probs, fmt.Sprintf("account must have 1 to %d bytes", maxAccountLen))
	}
	if !reDatasetID.MatchString(d.ID) {
		probs = append(probs, "dataset id must be 1 to 64 letters, digits, '_' or '-'")
	}
	if d.AccessToken == "" || len(d.AccessToken) > maxFieldLen || strings.ContainsAny(d.AccessToken, " \t\r\n") {
		probs = append(probs, "access_token is required, without spaces")
	}
	if !reAPIVersion.MatchString(d.APIVersion) {
		probs = append(probs, fmt.Sprintf("api_version %q is not like v21.0", d.APIVersion))
	}
	for _, f := range []struct{ name, v string }{
		{"partner_agent", d.PartnerAgent}, {"test_event_code", d.TestEventCode}, {"lead_event_source", d.LeadEventSource},
	} {
		if len(f.v) > maxNameLen {
			probs = append(probs, fmt.Sprintf("%s longer than %d bytes", f.name, maxNameLen))
		}
	}
	if err := outbox.CheckURL(d.GraphBase, allowPrivate); err != nil {
		probs = append(probs, "graph_base: "+err.Error())
	} else if strings.ContainsAny(d.GraphBase, "?#") {
		probs = append(probs, "graph_base must be a scheme and host, without query or fragment")
	}
	if len(probs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(probs, "; "))
	}
	return nil
}

// PutDataset creates or replaces a dataset, durably. Defaults are filled in
// (see Dataset); GraphBase is checked against the SSRF guard
// (Config.AllowPrivateTargets). Events already queued for it are sent with
// the new settings. Errors: ErrInvalid (wrapped), ErrClosed, storage errors.
func (f *Forwarder) PutDataset(ctx context.Context, d Dataset) error {
	if err := d.normalise(f.cfg.AllowPrivateTargets); err != nil {
		return fmt.Errorf("cannot store meta dataset: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.life.Closed() {
		return ErrClosed
	}
	var st stateRec
	err := f.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketDatasets).CreateBucketIfNotExists(datasetKey(d.Account, d.ID))
		if err != nil {
			return err
		}
		if err := createDatasetBuckets(b); err != nil {
			return err
		}
		if st, err = getState(b); err != nil {
			return err
		}
		return putJSON(b, keyConfig, d)
	})
	if err != nil {
		return fmt.Errorf("cannot store meta dataset %s: %w", d.ID, wrap(err))
	}
	k := dsKey{strings.Clone(d.Account), strings.Clone(d.ID)} // kept: the caller's strings may be borrowed
	f.stMu.Lock()
	if f.states[k] == nil {
		f.states[k] = &dsState{stateRec: st}
	}
	f.states[k].off = !d.sending()
	f.stMu.Unlock()
	f.poke()
	return nil
}

// DeleteDataset removes a dataset with its events, durably: pending events
// are not sent, and a flush under way finds nothing to record (ErrNotFound,
// logged). CRM events that name it later are refused as for an unknown
// dataset. Errors: ErrNotFound, ErrClosed, storage errors.
func (f *Forwarder) DeleteDataset(ctx context.Context, account, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f.life.Closed() {
		return ErrClosed
	}
	err := f.db.Update(func(tx *bolt.Tx) error {
		if dsBucket(tx, account, id) == nil {
			return ErrNotFound
		}
		return tx.Bucket(bucketDatasets).DeleteBucket(datasetKey(account, id))
	})
	if err != nil {
		return fmt.Errorf("cannot delete meta dataset %s: %w", id, wrap(err))
	}
	f.stMu.Lock()
	if st := f.states[dsKey{account, id}]; st != nil {
		// Kept, not removed: a running flush still reads it. Nothing is
		// pending any more; a dataset put again under this id starts afresh.
		st.pending, st.stateRec = 0, stateRec{}
	}
	f.stMu.Unlock()
	return nil
}

// Dataset returns a stored dataset, access token included (see Redacted).
// Errors: ErrNotFound, ErrClosed, storage errors.
func (f *Forwarder) Dataset(ctx context.Context, account, id string) (Dataset, error) {
	if err := ctx.Err(); err != nil {
		return Dataset{}, err
	}
	var d Dataset
	err := f.db.View(func(tx *bolt.Tx) error {
		var err error
		d, err = getDataset(tx, account, id)
		return err
	})
	return d, wrap(err)
}

// Datasets lists the datasets of an account, access tokens included, by id.
func (f *Forwarder) Datasets(ctx context.Context, account string) ([]Dataset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := []Dataset{}
	prefix := lp(nil, account)
	err := f.db.View(func(tx *bolt.Tx) error {
		all := tx.Bucket(bucketDatasets)
		c := all.Cursor()
		for k, _ := c.Seek(prefix); k != nil && hasPrefix(k, prefix); k, _ = c.Next() {
			key, ok := parseDatasetKey(k)
			if !ok || key.account != account {
				continue
			}
			d, err := getDataset(tx, key.account, key.id)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, wrap(err)
}

func getDataset(tx *bolt.Tx, account, id string) (Dataset, error) {
	b := dsBucket(tx, account, id)
	if b == nil {
		return Dataset{}, ErrNotFound
	}
	v := b.Get(keyConfig)
	if v == nil {
		return Dataset{}, ErrNotFound
	}
	return decode[Dataset](v, "dataset "+id)
}

func hasPrefix(k, p []byte) bool { return len(k) >= len(p) && string(k[:len(p)]) == string(p) }
