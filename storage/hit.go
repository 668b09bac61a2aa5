package storage

import (
	"strings"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
)

// Hit kinds (the kind column of raw hits).
const (
	KindPixel        = "pixel"
	KindRegistration = "registration"
	KindManual       = "manual"
	KindClick        = "click"
	KindPostback     = "postback"
	KindLead         = "lead"
	KindCRM          = "crm"
)

// Hit is one request to a tracking endpoint, as the write-ahead logs keep it
// and as it becomes a row of the ClickHouse hits table (SPEC §4, §8).
//
// A hit is logged twice: in the hits log before it is answered (Status
// empty when it still has to go through the ledger, StatusRejected when it
// was refused before), and in the rows log once the ledger decided it
// (Status, Reason, Delta, Credited and AttendeeID filled in from the
// Result). The fields marked local never leave this machine: ClickHouse
// gets EmailSHA256, never Email.
type Hit struct {
	ID      string
	Time    time.Time
	Account string
	Kind    string

	Status Status
	Reason string

	// Ledger input: what the hit named. Webinars and Tags as given.
	Webinars    []string
	Tags        []string
	OrderID     string
	OrderKey    string // attribution.OrderKey; empty for registrations
	HasAmount   bool
	Amount      attribution.Micros
	Currency    string
	ProductID   string
	ProductName string
	Source      string // pixel, backend, manual
	Email       string // local: normalised email, needed by the ledger
	CookieID    string // local: pp_aid

	// Ledger outcome.
	Delta      attribution.Micros
	Credited   []string
	AttendeeID string

	EmailSHA256 string
	ClickID     string
	CampaignID  string

	// S2S (kinds click and postback). A postback's Amount/HasAmount are the
	// payout the network reported; Delta is the revenue change.
	Macros     map[string]string // click: its query parameters; postback: the click's
	ClickTTL   time.Duration
	Cost       attribution.Micros // click: its cost, in Currency
	Valuation  *Valuation         // click: the campaign's goals and payout
	TxID       string
	Goal       string
	ConvStatus string // canonical conversion status
	RawStatus  string
	SourceID   string
	NetworkID  string // click: its campaign's network; postback: the path's
	// PixelConversions is a click's campaign's pixel_conversions (nil on a
	// click logged by an earlier build: its access is then unknown, see
	// ClickRec.Access).
	PixelConversions *bool
	// PrevConvStatus and PrevValue are the conversion's status and value
	// before a postback (from Result.Conversion), for outbound postbacks
	// and corrections. Not logged: known only in the process that applied
	// the hit (or re-applied it: Result.Original).
	PrevConvStatus string
	PrevValue      attribution.Micros

	// Lead (kind lead): the profile fields it gives the attendee.
	Profile map[string]string

	IP        string
	UserAgent string
	Referer   string
	Query     string // redacted and size-capped

	// Log and Pos are where the hit was in its hits log (the log's id and
	// the position after the hit), set when the applier reads it: the
	// ledger applies it once by them (Op.Log, Op.Pos), and a row keeps
	// them so that reconcile --repair replays it the same way.
	Log string
	Pos uint64

	// Deferred, when set, is the request of a hit answered while its
	// account or configuration could not be read (the ledger was
	// unreachable and this node had never read them): the hit is pending
	// but not complete. The applier has the server decide it from this
	// request, as it would have been decided when answered, before it
	// goes to the ledger (pipeline.Deps.Resolve). Local: only the hits log
	// holds it.
	Deferred *Request
}

// Request is what the server reads of a tracking request to decide its
// hit: kept, unredacted, with a deferred hit until it is decided.
type Request struct {
	Method      string
	Query       string // the raw query string
	ContentType string
	Body        string // a POST body (at most the server's body limit)
	ClientAddr  string // the client's full address (before IP truncation)
	// The cookies the request presented: the attendee's pp_aid and the
	// click's pp_cid.
	AttendeeCookie string
	ClickCookie    string
	// Endpoint is the configuration id a path names instead of an account
	// (a lead endpoint).
	Endpoint string
}

// Archived is h as the rows log keeps it: the durable raw-hit archive
// holds what ClickHouse holds (SPEC §4, §6), the email's hash and the
// attendee id, never the email, the cookie id, a lead's profile (name,
// phone, date of birth...) or a deferred hit's raw request, and macros
// with the values RedactQuery would hide redacted. Only the hits log holds those, until the ledger applied
// the hit. h is not changed: the decided hit still serves webhooks.
func (h *Hit) Archived() Hit {
	a := *h
	a.Email, a.CookieID, a.Profile, a.Deferred = "", "", nil, nil
	a.Macros = redactedMacros(h.Macros)
	return a
}

// redactedMacros returns m, or a copy with its sensitive values redacted.
func redactedMacros(m map[string]string) map[string]string {
	var out map[string]string
	for k, v := range m {
		if !attribution.SensitiveParam(k, v) {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(m))
			for k2, v2 := range m {
				out[k2] = v2
			}
		}
		out[k] = "REDACTED"
	}
	if out == nil {
		return m
	}
	return out
}

// Pending reports whether the hit still has to go through the ledger.
func (h *Hit) Pending() bool { return h.Status == "" }

// Op is the ledger operation of a pending hit.
func (h *Hit) Op() Op {
	op := Op{
		HitID: h.ID, Account: h.Account, Kind: OpConversion, Time: h.Time,
		AttendeeEmail: h.Email, AttendeeEmailSHA256: h.EmailSHA256, CookieID: h.CookieID,
		Webinars: h.Webinars, Tags: h.Tags,
		OrderKey: h.OrderKey, OrderID: h.OrderID,
		HasAmount: h.HasAmount, Amount: h.Amount, Currency: h.Currency,
		ProductID: h.ProductID, ProductName: h.ProductName, Source: h.Source,
		Log: h.Log, Pos: h.Pos,
	}
	switch h.Kind {
	case KindRegistration:
		op.Kind = OpRegistration
		op.Profile = h.Profile // an imported registrant's details, if any
	case KindClick:
		op.Kind = OpClick
		op.ClickID, op.CampaignID, op.Macros, op.ClickTTL, op.Cost = h.ClickID, h.CampaignID, h.Macros, h.ClickTTL, h.Cost
		op.Valuation = h.Valuation
		if h.PixelConversions != nil {
			op.Access = &ClickAccess{NetworkID: h.NetworkID, PixelConversions: *h.PixelConversions}
		}
	case KindLead:
		op.Kind = OpLead
		op.Profile = h.Profile
	case KindPostback:
		op.Kind = OpPostback
		op.ClickID, op.TxID, op.Goal, op.ConvStatus, op.RawStatus = h.ClickID, h.TxID, h.Goal, h.ConvStatus, h.RawStatus
		op.NetworkID = h.NetworkID
	}
	if strings.HasPrefix(h.OrderKey, "f:") {
		op.OrderWindow = attribution.FingerprintWindow
	}
	return op
}

// Decided records the ledger's result on the hit.
func (h *Hit) Decided(r Result) {
	h.Status, h.Reason, h.Delta = r.Status, r.Reason, r.Delta
	h.Credited, h.AttendeeID = r.Credited, r.AttendeeID
	if r.Reason == ReasonErased {
		// The person asked to be erased: its row keeps no trace of them.
		h.Email, h.EmailSHA256, h.CookieID = "", "", ""
		h.IP, h.UserAgent, h.Referer, h.Query = "", "", "", ""
	}
	if c := r.Conversion; c != nil {
		// The conversion row carries the click's campaign and macros, so
		// reports group conversions by zone, country, ... like clicks.
		h.CampaignID, h.Macros = c.CampaignID, c.Macros
		h.Amount, h.HasAmount = c.Value, true
		h.PrevConvStatus, h.PrevValue = c.PrevStatus, c.PrevValue
	}
}

// WebinarIDs is the webinar_ids column: the webinars credited when the
// ledger took the hit, else the webinars it named.
func (h *Hit) WebinarIDs() []string {
	if h.Credited != nil || (!h.Pending() && h.Status != StatusRejected) {
		return h.Credited
	}
	return h.Webinars
}

// ReplayOp is the op that re-applies a decided hit in a fold (reconcile):
// the credited webinars stand for the tags as they were resolved at hit
// time, and the attendee id for an email the raw row does not carry.
func (h *Hit) ReplayOp() Op {
	op := h.Op()
	op.Webinars, op.Tags = h.Credited, nil
	if op.AttendeeEmail == "" && op.CookieID == "" {
		op.AttendeeID = h.AttendeeID
	}
	return op
}
