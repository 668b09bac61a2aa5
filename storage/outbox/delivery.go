package outbox

import "time"

// Kinds of delivery. Kind only labels a delivery (lists, metrics) and scopes
// its Key; every kind is sent the same way.
const (
	KindPostback = "postback" // to a traffic source (SPEC §3.1)
	KindWebhook  = "webhook"  // to a CRM endpoint (SPEC §3.2)
	KindMeta     = "meta"     // to the Meta Conversions API (SPEC §3.3)
)

// States of a delivery.
const (
	StatusPending   = "pending"   // waiting for its next attempt (NextAt)
	StatusDelivered = "delivered" // one attempt succeeded (2xx); never sent again
	StatusFailed    = "failed"    // gave up: a final answer, or MaxAge passed; see Retry
)

// MaxResponseBytes bounds the response body kept with an attempt.
const MaxResponseBytes = 1024

// maxAttemptsKept bounds Delivery.Attempts: the oldest are dropped past it
// (AttemptCount still counts them). The default backoff makes ~35 attempts
// in 24 h, so only deliveries retried by hand many times lose any.
const maxAttemptsKept = 100

// Delivery is one outbound HTTP request and its delivery record.
//
// The caller sets Account, Kind, Key, Method, URL, Headers and Body; Enqueue
// sets the rest and ignores what the caller put there. Deliveries returned
// by Get, List and OnResult are copies the caller may keep and modify.
// URL, Headers and Body are returned as stored: they may hold secrets (a
// signature, an access token) that an API layer must redact.
type Delivery struct {
	ID      string `json:"id"`      // time-sortable, unique in the outbox
	Account string `json:"account"` // required
	Kind    string `json:"kind"`    // KindPostback, KindWebhook or KindMeta
	// Key is the idempotency key, unique per (Account, Kind): while a
	// delivery with the same Key is pending or delivered, Enqueue does
	// nothing and returns its id. After it failed, Enqueue creates a new
	// delivery that takes the Key over. "" disables the check.
	Key string `json:"key,omitempty"`
	// Method is the HTTP method; "" means POST with a Body, GET without.
	Method  string            `json:"method"`
	URL     string            `json:"url"` // http or https; see CheckURL
	Headers map[string]string `json:"headers,omitempty"`
	Body    []byte            `json:"body,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	Status    string    `json:"status"` // StatusPending, StatusDelivered or StatusFailed
	// NextAt is when a pending delivery is next attempted; zero otherwise.
	NextAt time.Time `json:"next_at,omitzero"`
	// UpdatedAt is the time of the last change of state or attempt.
	UpdatedAt time.Time `json:"updated_at"`
	// RetriedAt is the time of the last manual Retry: the MaxAge window
	// starts again from it. Zero if never retried by hand.
	RetriedAt time.Time `json:"retried_at,omitzero"`
	// Failures counts the failed attempts since CreatedAt or the last
	// manual Retry; it drives the backoff.
	Failures int `json:"failures"`
	// AttemptCount counts every attempt ever made.
	AttemptCount int `json:"attempt_count"`
	// Attempts are the last attempts, oldest first (at most 100).
	Attempts []Attempt `json:"attempts,omitempty"`
	// Erased: Forget stripped it of a person's data; it cannot be sent
	// again.
	Erased bool `json:"erased,omitempty"`
}

// Attempt is one try at delivering, as recorded.
type Attempt struct {
	At       time.Time     `json:"at"`                 // start, by the outbox's clock
	Duration time.Duration `json:"duration"`           // monotonic
	Status   int           `json:"status,omitempty"`   // HTTP status; 0 when no response came
	Error    string        `json:"error,omitempty"`    // why it failed; "" on success
	Response string        `json:"response,omitempty"` // start of the response body, ≤ MaxResponseBytes, valid UTF-8
}

// LastAttempt is the most recent attempt, or the zero Attempt.
func (d *Delivery) LastAttempt() Attempt {
	if len(d.Attempts) == 0 {
		return Attempt{}
	}
	return d.Attempts[len(d.Attempts)-1]
}

// ListFilter selects deliveries for List. Empty fields match everything.
type ListFilter struct {
	Status string // StatusPending, StatusDelivered, StatusFailed or ""
	Kind   string // KindPostback, KindWebhook, KindMeta or ""
	// Limit caps the result; 0 means 100, and more than MaxListLimit is
	// MaxListLimit.
	Limit int
	// Before, a delivery id, lists the deliveries older than it: the id of
	// the last delivery of a page gives the next page.
	Before string
}

// Stats are counters for metrics.
type Stats struct {
	Pending   int64  // deliveries waiting for an attempt (in flight included)
	Delivered int64  // deliveries delivered, ever (the file's lifetime)
	Failed    int64  // deliveries failed now (a Retry moves one back to Pending)
	Attempts  uint64 // attempts recorded, ever
	InFlight  int64  // attempts under way now
}

func validKind(k string) bool {
	return k == KindPostback || k == KindWebhook || k == KindMeta
}

func validStatus(s string) bool {
	return s == StatusPending || s == StatusDelivered || s == StatusFailed
}
