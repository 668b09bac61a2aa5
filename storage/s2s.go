package storage

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
)

// ClickRec is a click as the ledgers keep it (JSON, numbers as strings so
// that the Redis ledger's Lua reads them exactly), until its window ends
// plus ClickGrace.
type ClickRec struct {
	CampaignID string            `json:"c"`
	Macros     map[string]string `json:"m,omitempty"`
	Cost       int64             `json:"cost,string"`
	Currency   string            `json:"cur,omitempty"`
	Time       int64             `json:"t,string"`   // unix ns
	Expires    int64             `json:"exp,string"` // unix ns: the end of the window
	Valuation  *Valuation        `json:"v,omitempty"`
	// Access is who may convert the click, from its campaign when it was
	// clicked. Nil on a click recorded by an earlier build: the ledger
	// fills it in from the campaign's current document (CampaignAccess)
	// before DecidePostback, and a click whose campaign is gone stays nil,
	// which DecidePostback refuses.
	Access *ClickAccess `json:"a,omitempty"`
}

// Reasons a postback or a conversion pixel may not convert a click (SPEC
// §1.4): the click is converted only through its own campaign's network.
const (
	ReasonWrongNetwork             = "wrong_network"              // rejected postback: not the click's network's path
	ReasonPixelConversionsDisabled = "pixel_conversions_disabled" // rejected pixel conversion: the campaign does not allow it
)

// ClickAccess is who may convert a click. A browser cannot hold a secret,
// so a click whose campaign names a network is converted only by that
// network's authenticated postbacks, unless the campaign allows the
// conversion pixel too.
type ClickAccess struct {
	// NetworkID is the campaign's network: only postbacks through
	// /v1/postback/{acct}/{NetworkID} convert the click. Empty: only the
	// account-level path /v1/postback/{acct} does.
	NetworkID string `json:"n"`
	// PixelConversions: the conversion pixel (cid, pp_cid) converts it.
	PixelConversions bool `json:"px"`
}

// DefaultPixelConversions is a campaign's pixel_conversions when it does
// not say: off when it names a network (its postbacks are authenticated,
// a pixel is not), on otherwise.
func DefaultPixelConversions(networkID string) bool { return networkID == "" }

// CampaignAccess reads the access a campaign document (server/s2sconfig.go:
// network_id, pixel_conversions) gives its clicks; nil when doc is nil or
// unreadable.
func CampaignAccess(doc []byte) *ClickAccess {
	if doc == nil {
		return nil
	}
	var d struct {
		NetworkID        string `json:"network_id"`
		PixelConversions *bool  `json:"pixel_conversions"`
	}
	if json.Unmarshal(doc, &d) != nil {
		return nil
	}
	a := &ClickAccess{NetworkID: d.NetworkID, PixelConversions: DefaultPixelConversions(d.NetworkID)}
	if d.PixelConversions != nil {
		a.PixelConversions = *d.PixelConversions
	}
	return a
}

// refusal is why op may not convert a click of access a ("" when it may):
// a conversion pixel (Source "pixel") needs PixelConversions, a postback
// the click's network's path. Unknown access (nil) refuses both.
func (a *ClickAccess) refusal(op *Op) string {
	if op.Source == SourcePixel {
		if a == nil || !a.PixelConversions {
			return ReasonPixelConversionsDisabled
		}
		return ""
	}
	if a == nil || op.NetworkID != a.NetworkID {
		return ReasonWrongNetwork
	}
	return ""
}

// SourcePixel is the Source of an op from a conversion pixel (a
// conversion pixel naming a click makes an OpPostback with it).
const SourcePixel = "pixel"

// Valuation is how a campaign values its conversions, taken with each
// click: a conversion is worth what the offer paid when it was clicked.
type Valuation struct {
	// Goals by id; a postback without goal uses "default", dynamic when
	// not configured.
	Goals map[string]GoalDoc `json:"g,omitempty"`
	// Payout, when not empty, is the offer's fixed payout in micro-units: it
	// overrides the postback's and the goals'.
	Payout string `json:"p,omitempty"`
}

// GoalDoc is a goal: none (worth 0), fixed (Value micro-units, a decimal
// string) or dynamic (the postback's payout).
type GoalDoc struct {
	Type  string `json:"type"`
	Value string `json:"value,omitempty"`
}

// Value is what a conversion of goal is worth given the postback's payout
// (attribution.ConversionValue; a goal not configured is dynamic).
func (v *Valuation) Value(goal string, hasPayout bool, payout attribution.Micros) attribution.Micros {
	if v == nil {
		v = &Valuation{}
	}
	var fixed *attribution.Micros
	if v.Payout != "" {
		p := micros(v.Payout)
		fixed = &p
	}
	if goal == "" {
		goal = attribution.DefaultGoalID
	}
	g := v.Goals[goal]
	value, err := attribution.ConversionValue(attribution.Goal{Type: attribution.GoalType(g.Type), Value: micros(g.Value)},
		attribution.Postback{HasPayout: hasPayout, Payout: payout}, fixed)
	if err != nil {
		return 0 // a goal the admin API refused to store; worth nothing rather than a guess
	}
	return value
}

// micros reads a decimal string of micro-units (written by this program).
func micros(s string) attribution.Micros {
	n, _ := strconv.ParseInt(s, 10, 64)
	return attribution.Micros(n)
}

// NewClickRec is the record of an OpClick.
func NewClickRec(op *Op) ClickRec {
	return ClickRec{CampaignID: op.CampaignID, Macros: op.Macros, Cost: int64(op.Cost), Currency: op.Currency,
		Time: op.Time.UnixNano(), Expires: op.Time.Add(op.ClickTTL).UnixNano(), Valuation: op.Valuation,
		Access: op.Access}
}

// ClickGrace is how long a click is kept after its window ends, so that a
// late postback is told expired_click rather than unknown_click.
const ClickGrace = 7 * 24 * time.Hour

// ConvRec is a conversion as the ledgers keep it (JSON).
type ConvRec struct {
	Status    string `json:"st"`
	RawStatus string `json:"raw,omitempty"`
	Value     int64  `json:"v,string"`
	Currency  string `json:"cur"`
}

// ConvKey identifies a conversion of a click: its txid, else its goal.
func ConvKey(clickID, txid, goal string) string {
	if txid != "" {
		return clickID + "|t|" + txid
	}
	if goal == "" {
		goal = "default"
	}
	return clickID + "|g|" + goal
}

// ConvKeyClick is the click id a conversion key starts with (ConvKey), or
// a key built on one (an outbound postback's idempotency key).
func ConvKeyClick(key string) string {
	id, _, _ := strings.Cut(key, "|")
	return id
}

// ConvRevenue is what a conversion adds to revenue: its value while it
// counts (attribution.CountsRevenue: approved), nothing otherwise.
func ConvRevenue(status string, value attribution.Micros) attribution.Micros {
	if attribution.CountsRevenue(attribution.ConvStatus(status)) {
		return value
	}
	return 0
}

// DecidePostback is the rule of an OpPostback once the click and the
// conversion's previous state are known; both ledgers apply it (the Redis
// one in Lua, kept in step by the conformance suite). A click without
// Access must have been given its campaign's (CampaignAccess) first.
func DecidePostback(op *Op, click *ClickRec, prev *ConvRec) (Result, *ConvRec) {
	// First: a postback on the wrong path learns nothing more of the click.
	if reason := click.Access.refusal(op); reason != "" {
		return Result{Status: StatusRejected, Reason: reason}, nil
	}
	if op.Time.UnixNano() > click.Expires {
		return Result{Status: StatusRejected, Reason: ReasonExpiredClick}, nil
	}
	value := click.Valuation.Value(op.Goal, op.HasAmount, op.Amount)
	next := &ConvRec{Status: op.ConvStatus, RawStatus: op.RawStatus, Value: int64(value), Currency: op.Currency}
	conv := &Conversion{ClickID: op.ClickID, CampaignID: click.CampaignID, Macros: click.Macros,
		Goal: op.Goal, TxID: op.TxID, Status: op.ConvStatus, Value: value, Currency: op.Currency}
	if prev == nil {
		return Result{Status: StatusAccepted, Delta: ConvRevenue(next.Status, value), Conversion: conv}, next
	}
	conv.PrevStatus, conv.PrevValue = prev.Status, attribution.Micros(prev.Value)
	switch {
	case prev.Currency != op.Currency:
		return Result{Status: StatusRejected, Reason: ReasonCurrencyMismatch, Conversion: conv}, nil
	case prev.Status == next.Status && prev.Value == next.Value:
		return Result{Status: StatusDuplicate, Reason: ReasonSameConversion, Conversion: conv}, nil
	case !attribution.Transition(attribution.ConvStatus(prev.Status), attribution.ConvStatus(next.Status)):
		return Result{Status: StatusRejected, Reason: ReasonBadTransition, Conversion: conv}, nil
	}
	delta := ConvRevenue(next.Status, value) - ConvRevenue(prev.Status, attribution.Micros(prev.Value))
	return Result{Status: StatusUpdated, Delta: delta, Conversion: conv}, next
}
