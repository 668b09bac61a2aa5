// Package storage declares the ledger: the exact state of orders, sales,
// registrants and lifetime value (SPEC §2). Implementations live in
// sub-packages (embedded, redisledger) and all pass ledgertest.
package storage

import (
	"context"
	"errors"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
)

// Sentinel errors shared by every implementation.
var (
	// ErrNotFound: the account, webinar or attendee does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the backing store cannot be reached; the caller may retry.
	ErrUnavailable = errors.New("ledger unavailable")
	// ErrConflict: the id is taken (by another account).
	ErrConflict = errors.New("conflict")
)

// OpKind says what a ledger operation records.
type OpKind uint8

const (
	// OpConversion records a purchase (pixel, backend GET, manual conversion).
	OpConversion OpKind = iota + 1
	// OpRegistration records a registrant of webinars (attendee pixel, import).
	OpRegistration
	// OpClick records a click on a campaign link (SPEC §1.3).
	OpClick
	// OpPostback records a conversion an affiliate network reports for a
	// click (SPEC §1.4).
	OpPostback
	// OpLead upserts the profile of the attendee of AttendeeEmail with
	// Profile (a lead-generation card, SPEC §1.5).
	OpLead
)

// Status is the outcome of one operation, as recorded on the raw hit.
type Status string

const (
	StatusAccepted  Status = "accepted"  // first sighting of an order / new registration
	StatusUpdated   Status = "updated"   // later sighting that changed an amount or added webinars
	StatusDuplicate Status = "duplicate" // nothing changed (refresh with same data, replayed hit id)
	StatusRejected  Status = "rejected"  // refused; Reason says why
	StatusQueued    Status = "queued"    // accepted by the server, ledger not reachable yet
)

// Reasons set by the ledger on rejected or duplicate results.
const (
	ReasonUnknownAccount    = "unknown_account"
	ReasonCurrencyMismatch  = "currency_mismatch"
	ReasonReplayedHit       = "replayed_hit"       // duplicate: this hit id was already applied
	ReasonSameOrder         = "same_order"         // duplicate: later sighting that changed nothing
	ReasonNoWebinar         = "no_webinar"         // rejected: no webinar given and no acquisition webinar known
	ReasonAlreadyRegistered = "already_registered" // duplicate registration
	ReasonNoAttendee        = "no_attendee"        // rejected registration without email or cookie
	ReasonUnknownClick      = "unknown_click"      // rejected postback: no such click
	ReasonExpiredClick      = "expired_click"      // rejected postback: the click's window is over
	ReasonBadTransition     = "bad_transition"     // rejected postback: a status change the machine forbids
	ReasonSameConversion    = "same_conversion"    // duplicate postback: nothing changed
	// ReasonErased: rejected, the op's attendee was erased (EraseAttendee)
	// at or after the op's time.
	ReasonErased = "erased"
	// ReasonInternal: rejected by a bug (never by the ledger's absence).
	ReasonInternal = "internal_error"
)

// Op is one ledger operation derived from a hit. All fields are owned
// values (never slices of a request buffer). Ops are pure data.
type Op struct {
	// HitID is unique per hit (the raw hit's id).
	HitID   string
	Account string
	Kind    OpKind
	// Time is the hit's time; the ledger never reads the clock.
	Time time.Time

	// Log and Pos say where the op was read: the id of its hits log and
	// its position there (increasing along the log). An op with a Log is
	// applied at most once: each account keeps, per log, the position of
	// the last op it applied (its high-water mark), advanced in the same
	// atomic step as the op's effects; an op at or below it is a replay
	// (duplicate, ReasonReplayedHit). An op without a Log is applied as
	// given: its caller makes sure it is applied once (reconcile's fold
	// into a scratch ledger).
	Log string
	Pos uint64
	// Kept is the applier's saved cursor in Log when the op was read: the
	// ops at or below it are never applied again, so the results kept
	// for their replays may go.
	Kept uint64
	// CheckHitID: the op may have been applied by an earlier build, which
	// remembered hit ids rather than log positions (a hit recorded before
	// its log had an id): the ledger also looks its hit id up there.
	CheckHitID bool

	// Identity. AttendeeEmail is normalised (attribution.NormalizeEmail) or
	// empty. CookieID is the pp_aid cookie or empty. Resolution: with an
	// email the attendee is the email's; if a cookie is present too it is
	// linked to that attendee. With only a cookie, the attendee is the one the
	// cookie is linked to, or else a cookie-only attendee. With neither the
	// hit has no attendee.
	AttendeeEmail string
	// AttendeeEmailSHA256, when set, is attribution.EmailSHA256 of
	// AttendeeEmail, as the hit carries it: EmailAttendeeID uses it
	// instead of hashing the email again.
	AttendeeEmailSHA256 string
	CookieID            string
	// AttendeeID names an attendee directly when the hit's email is not
	// known (a replay of a raw hit, which keeps only the email's hash). It
	// is used only when AttendeeEmail and CookieID are both empty.
	AttendeeID string

	// Webinars named explicitly and tags; the ledger resolves each tag to
	// the webinars carrying it at the time of the operation and credits
	// the union. Every webinar id credited is added to the account's
	// webinar list (a webinar first seen in a hit is listed untagged).
	Webinars []string
	Tags     []string

	// Conversion fields.
	// OrderKey identifies the order (attribution.OrderKey). Non-empty for
	// conversions.
	OrderKey string
	// OrderWindow > 0 makes the order key a sliding fingerprint: a sighting
	// more than OrderWindow after the order's last sighting starts a new
	// order under the same key.
	OrderWindow time.Duration
	OrderID     string // the user's orderId, empty when absent (label only)
	HasAmount   bool   // false: first sighting counts 0; later sightings keep the amount
	Amount      attribution.Micros
	// Currency is an upper-case ISO 4217 code, already defaulted to the
	// account's currency by the caller.
	Currency    string
	ProductID   string
	ProductName string
	Source      string // "pixel", "backend", "manual" (label kept on the order)

	// S2S fields (OpClick, OpPostback).
	ClickID string
	// OpClick: the campaign, every query parameter the click arrived with,
	// how long it can convert (the campaign's attribution window) and its
	// cost in Currency (the cost macro, or the campaign's CPC).
	CampaignID string
	Macros     map[string]string
	ClickTTL   time.Duration
	Cost       attribution.Micros
	Valuation  *Valuation // the campaign's, when the click happened
	// Access is who may convert the click (its campaign's network and
	// pixel_conversions when it happened); nil for a click hit logged by
	// an earlier build (see ClickRec.Access).
	Access *ClickAccess
	// OpPostback: NetworkID is the network whose path the postback came
	// through (/v1/postback/{acct}/{network}), empty for the account-level
	// path and the conversion pixel (Source SourcePixel).
	NetworkID string
	// OpPostback: the conversion is (ClickID, TxID), or (ClickID, Goal)
	// without a txid. ConvStatus is canonical (attribution.ConvStatus),
	// RawStatus as the network sent it. HasAmount/Amount carry the payout
	// the network reported, in Currency; the ledger values the conversion
	// with the click's Valuation (goal none, fixed, dynamic; fixed payout).
	TxID       string
	Goal       string
	ConvStatus string
	RawStatus  string

	// OpLead: profile fields (name, screen_name, hidden card fields as
	// "hidden.<key>"); a later lead replaces the fields it names.
	// OpRegistration may carry some too (an imported registrant's name,
	// phone, country...): they are merged the same way.
	Profile map[string]string
}

// EmailAttendeeID is the attendee id of AttendeeEmail
// (attribution.EmailAttendeeID), "" without one.
func (op *Op) EmailAttendeeID() string {
	switch {
	case op.AttendeeEmail == "":
		return ""
	case len(op.AttendeeEmailSHA256) == sha256Hex:
		return attribution.AttendeeIDOfEmailSHA256(op.AttendeeEmailSHA256)
	}
	return attribution.EmailAttendeeID(op.AttendeeEmail)
}

// sha256Hex is the length of a SHA-256 in hex.
const sha256Hex = 64

// Valid reports whether op is one a ledger can apply: a known kind with
// the fields it needs, and every id at most maxID bytes (the ledgers'
// key limits). The server never builds another; a ledger rejects one alone
// rather than failing its batch.
func (op *Op) Valid(maxID int) bool {
	switch op.Kind {
	case OpConversion:
		if op.OrderKey == "" {
			return false
		}
	case OpRegistration:
		if len(op.Profile) > maxProfileFields {
			return false
		}
	case OpClick:
		if op.ClickID == "" || op.CampaignID == "" {
			return false
		}
	case OpPostback:
		if op.ClickID == "" {
			return false
		}
	case OpLead:
		if op.AttendeeEmail == "" || len(op.Profile) > maxProfileFields {
			return false
		}
	default:
		return false
	}
	if op.HitID == "" {
		return false
	}
	for _, id := range [...]string{op.HitID, op.Account, op.OrderKey, op.ClickID, op.TxID, op.Goal, op.AttendeeEmail, op.CookieID, op.NetworkID, op.Log} {
		if len(id) > maxID {
			return false
		}
	}
	for _, ids := range [...][]string{op.Webinars, op.Tags} {
		for _, id := range ids {
			if len(id) > maxID {
				return false
			}
		}
	}
	return true
}

// maxProfileFields bounds the fields of a lead's profile (3 fields and at
// most 10 hidden ones, with room to spare).
const maxProfileFields = 32

// ReasonSameProfile: a lead that changed nothing of the profile.
const ReasonSameProfile = "same_profile"

// Result is the outcome of one Op.
type Result struct {
	Status Status
	Reason string // set for rejected and duplicate
	// Delta is the change applied to revenue of each credited webinar and to
	// the attendee's LTV: the full amount on a first sighting, the
	// difference on a later one (may be negative), 0 otherwise.
	Delta attribution.Micros
	// Credited lists the webinars the order is credited to after this op
	// (conversions), or the webinars registered to (registrations).
	Credited []string
	// AttendeeID is the resolved attendee, empty when the hit had none.
	AttendeeID string
	// Conversion is set on the result of an OpPostback that found its click:
	// what outbound postbacks need.
	Conversion *Conversion
	// Original is set on a replayed hit (duplicate, ReasonReplayedHit) when
	// the ledger still keeps what the op's first application decided: until
	// the applier's saved cursor passes the op (Op.Kept). A process that
	// crashed before it recorded a result gets it back when it applies the
	// hit again.
	Original *Result
}

// Conversion is a conversion reported for a click, after an OpPostback.
type Conversion struct {
	ClickID    string
	CampaignID string
	Macros     map[string]string // the click's
	Goal       string
	TxID       string
	Status     string // canonical, after the postback
	PrevStatus string // before it ("" for a new conversion)
	Value      attribution.Micros
	PrevValue  attribution.Micros
	Currency   string
}

// Account is a tenant.
type Account struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	DefaultCurrency string `json:"default_currency"`
	// MaxAmount caps the amount of a conversion in DefaultCurrency
	// (attribution.CheckMaxAmount); 0: attribution.DefaultMaxAmount.
	MaxAmount attribution.Micros `json:"-"`
}

// Webinar is a webinar or offer of an account.
type Webinar struct {
	ID   string   `json:"id"`
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// WebinarStats are the ledger totals of one webinar.
type WebinarStats struct {
	Registrants int64 // distinct registered attendees
	Converted   int64 // distinct attendees with an order credited to the webinar
	// ConvertedRegistrants: registrants who are also converted (numerator
	// of the conversion rate), maintained incrementally whichever came first.
	ConvertedRegistrants int64
	Sales                int64
	Revenue              map[string]attribution.Micros // per currency
}

// Order as kept in the ledger.
type Order struct {
	Key         string
	OrderID     string
	Amount      attribution.Micros
	Currency    string
	Webinars    []string // credited, in crediting order
	AttendeeID  string
	ProductID   string
	ProductName string
	Source      string
	FirstSeen   time.Time
	LastSeen    time.Time
}

// Attendee as kept in the ledger.
type Attendee struct {
	ID       string
	Email    string
	Orders   int64
	LTV      map[string]attribution.Micros // per currency
	Webinars []string                      // credited webinars, sorted
	// Acquisition lists the webinars of the attendee's first order that was
	// credited to any webinar; webinar-less conversions are credited there.
	Acquisition []string
	OrderList   []Order // ordered by FirstSeen
}

// Registrant is one registration of an attendee to a webinar.
type Registrant struct {
	AttendeeID   string
	Email        string
	RegisteredAt time.Time
}

// Erasure is what EraseAttendee removed.
type Erasure struct {
	AttendeeID    string `json:"attendee_id"`   // the email's attendee id
	Found         bool   `json:"found"`         // the ledger had a record of it
	Orders        int    `json:"orders"`        // its orders, current and replaced
	Registrations int    `json:"registrations"` // webinars it was a registrant of
	Cookies       int    `json:"cookies"`       // cookie links to it
	// Clicks it converted (conversion pixel), stripped of their macros now.
	Clicks int `json:"clicks"`
	// ClickIDs are the ids of every click the ledger knows it converted,
	// whether stripped now or by an earlier erasure, sorted: the caller
	// strips them where else they are kept (raw hits, outbound
	// postbacks). A ledger knows them as long as it keeps the click.
	ClickIDs []string `json:"click_ids,omitempty"`
}

// Ledger is the exact state of an installation. Every method is safe for
// concurrent use. Methods return ErrUnavailable (wrapped) when the store
// cannot be reached and ErrNotFound when the named object does not exist.
type Ledger interface {
	// Apply applies ops in order, each atomically and idempotently by HitID,
	// and returns one Result per op. Batching is an optimisation only: the
	// results are those of applying the ops one by one. An error means none
	// of the results are known (the caller may retry the whole batch: ops
	// already applied come back as duplicates).
	Apply(ctx context.Context, ops []Op) ([]Result, error)

	PutAccount(ctx context.Context, a Account) error
	Account(ctx context.Context, id string) (Account, error)
	// PutWebinar creates or replaces a webinar's name and tags; the tag
	// index changes with it, so later ops resolve tags to the new set.
	PutWebinar(ctx context.Context, account string, w Webinar) error
	// Webinars lists configured webinars and those first seen in hits,
	// sorted by id.
	Webinars(ctx context.Context, account string) ([]Webinar, error)
	WebinarStats(ctx context.Context, account, webinarID string) (WebinarStats, error)
	// Attendee looks an attendee up by normalised email.
	Attendee(ctx context.Context, account, email string) (Attendee, error)
	// AttendeeByID looks an attendee up by id (reconcile compares them).
	AttendeeByID(ctx context.Context, account, id string) (Attendee, error)
	// Profile returns the profile fields leads gave an attendee (empty when
	// none).
	Profile(ctx context.Context, account, attendeeID string) (map[string]string, error)
	// Attendees calls fn with every attendee of the account that has an
	// email (with its orders), in no particular order; an error of fn
	// stops the walk and is returned. Attendees applied meanwhile may or
	// may not be seen.
	Attendees(ctx context.Context, account string, fn func(Attendee) error) error
	// Registrants lists a webinar's registrants, oldest first.
	Registrants(ctx context.Context, account, webinarID string) ([]Registrant, error)
	// EraseAttendee erases the attendee of a normalised email (GDPR, see
	// docs/ledger.md "Erasure"): its record, orders, registrations,
	// profile and cookie links go, the webinar totals lose what they
	// counted of it, and a tombstone rejects (ReasonErased) every later op
	// of that attendee dated at or before at. Erasing again, or an email
	// the ledger never saw, is not an error.
	EraseAttendee(ctx context.Context, account, email string, at time.Time) (Erasure, error)
	// Erased returns the account's tombstones: erased attendee ids and the
	// time of their erasure.
	Erased(ctx context.Context, account string) (map[string]time.Time, error)

	// PutConfig stores an account's configuration object of a kind (a
	// traffic source, an affiliate network, a campaign, ...) as a JSON
	// document, replacing any previous one. Ids of a GlobalKinds kind are
	// unique across accounts (they appear in URLs without the account):
	// another account's id is ErrConflict.
	PutConfig(ctx context.Context, account, kind, id string, doc []byte) error
	// Config returns one document, or ErrNotFound.
	Config(ctx context.Context, account, kind, id string) ([]byte, error)
	// Configs returns every document of a kind, by id.
	Configs(ctx context.Context, account, kind string) (map[string][]byte, error)
	// DeleteConfig removes a document (and a global id's claim); removing
	// one that does not exist is not an error.
	DeleteConfig(ctx context.Context, account, kind, id string) error
	// ConfigOwner returns the account owning a GlobalKinds id, or ErrNotFound.
	ConfigOwner(ctx context.Context, kind, id string) (string, error)

	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	Close() error
}

// MarkReader is a ledger that tells how far it applied each hits log of
// an account (Op.Log): the position of the last op of each it applied,
// written with the ops' effects. reconcile --repair re-applies what is
// past them.
type MarkReader interface {
	Marks(ctx context.Context, account string) (map[string]uint64, error)
}

// Configuration kinds. Campaign ids are global: the click URL /c/{id}
// names no account.
const (
	ConfigSource       = "source"
	ConfigNetwork      = "network"
	ConfigCampaign     = "campaign"
	ConfigLeadEndpoint = "lead_endpoint"
	ConfigCRMSource    = "crm_source"
)

// GlobalKinds are the configuration kinds whose ids are unique across
// accounts: they appear in public URLs that name no account (/c/{id},
// /v1/leads/{id}, /v1/crm/{id}/events).
var GlobalKinds = map[string]bool{ConfigCampaign: true, ConfigLeadEndpoint: true, ConfigCRMSource: true}

// HitRetention is how long builds before exactly-once by log position
// remembered applied hit ids: the ledger still finds those it can for ops
// of Op.CheckHitID, and reconcile does not replay rows of such builds
// older than that.
const HitRetention = 35 * 24 * time.Hour
