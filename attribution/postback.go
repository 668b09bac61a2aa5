package attribution

import (
	"errors"
	"slices"
	"strings"
	"unicode/utf8"
)

// ConvStatus is the canonical status of a conversion (SPEC §1.4). Every
// network's raw status value maps to one of the four; the raw value is kept
// beside it (Postback.RawStatus).
type ConvStatus string

// The canonical statuses.
const (
	StatusPending    ConvStatus = "pending"    // reported, payout not confirmed yet (hold)
	StatusApproved   ConvStatus = "approved"   // payout confirmed: counts as revenue
	StatusDeclined   ConvStatus = "declined"   // rejected or cancelled: no payout
	StatusChargeback ConvStatus = "chargeback" // paid, then reversed or refunded
)

// Valid reports whether s is one of the four canonical statuses.
func (s ConvStatus) Valid() bool {
	switch s {
	case StatusPending, StatusApproved, StatusDeclined, StatusChargeback:
		return true
	}
	return false
}

// Event types a postback can carry beside its status (Postback.EventType).
// Any other non-empty value is a custom event name, kept as the network
// sent it.
const (
	EventLead   = "lead"
	EventSale   = "sale"
	EventRebill = "rebill"
)

// Reasons of rejected postbacks, answered as error=<reason> (SPEC §1.4)
// and recorded on the raw hit. Postbacks also use ReasonDuplicateParam,
// ReasonParamTooLong and ReasonInvalidEncoding. Like every reason they
// never change.
const (
	ReasonMissingClickID = "missing_click_id"
	ReasonBadClickID     = "bad_click_id"
	ReasonBadPayout      = "bad_payout"
	ReasonBadCurrency    = "bad_currency"
	ReasonBadStatus      = "bad_status"
	ReasonBadTxID        = "bad_txid"
	ReasonBadGoal        = "bad_goal"
)

// Length limits of postback values, in bytes.
const (
	// MaxPostbackParamBytes bounds every postback value after trimming.
	MaxPostbackParamBytes = 256
	// maxPostbackClickIDBytes bounds a click id: ours are 26 characters,
	// the margin is for ids imported from other trackers.
	maxPostbackClickIDBytes = 64
	maxRawStatusBytes       = 64
)

// DefaultGoalID is the goal of a postback that names none (SPEC §8).
const DefaultGoalID = "default"

// ParamNames are the parameter names a network uses in its postbacks. An
// empty name means the network never sends that value. The JSON names are
// those of the network API's "params" object (SPEC §8).
type ParamNames struct {
	ClickID  string `json:"click_id"`
	Payout   string `json:"payout"`
	TxID     string `json:"txid"`
	Status   string `json:"status"`
	Currency string `json:"currency"`
	Goal     string `json:"goal"`
	Secret   string `json:"secret"`
}

// Preset is how a network's postbacks read: parameter names and the
// meaning of its raw status values.
//
// Statuses maps lower-cased raw status values to canonical statuses: a raw
// value not in it is ReasonBadStatus, unless CustomEvents is set. Events
// labels some of those raw values with an event type (lead, sale,
// rebill); each key of Events is also a key of Statuses.
//
// CustomEvents is for trackers whose status parameter names a custom,
// user-defined conversion event rather than a status (Voluum's et, Binom's
// free-text cnv_status): a raw value not in Statuses that is a ValidID is
// then an approved conversion whose EventType is the raw value, with its
// case kept (Voluum's custom conversion names are case-sensitive). Those
// trackers count every such postback as a conversion, and so do we.
//
// The maps of a Preset returned by LookupPreset are its own: the caller
// may keep and modify them.
type Preset struct {
	Name   string
	Params ParamNames
	// Macros are what the sending system writes, in the postback URL it
	// is given, for each value (its own macro syntax); an empty one is a
	// value it is not asked for. Secret is never a macro: PostbackQuery
	// writes its placeholder.
	Macros       ParamNames
	Statuses     map[string]ConvStatus
	Events       map[string]string
	CustomEvents bool
}

// LookupPreset returns the named preset ("generic", "exoclick", "voluum",
// "keitaro", "binom", "affise"), matched without regard to ASCII case.
//
// Shared by all presets, a raw status, compared lower-cased, means:
//
//	approved    approved approve confirmed sale 1 rebill
//	pending     pending hold lead
//	declined    declined rejected reject cancelled canceled fraud trash
//	chargeback  chargeback reversed refund refunded
//
// with sale, lead and rebill also naming their event type. Each preset
// also reads a secret from parameter "secret", which users append to the
// postback URL they give the network. The presets:
//
//   - generic: cid, payout, txid, status, currency, goal (SPEC §1.4).
//   - exoclick: ExoClick's tag.php names, tag (click id), value (payout)
//     and goal, with the generic names for the rest.
//   - voluum: cid, payout, txid and et, the custom conversion event; lead
//     and sale are approved events there, and other event names are
//     custom events (CustomEvents).
//   - keitaro: subid, payout, tid, status, currency. Keitaro's statuses
//     are lead (pending), sale (approved), rejected (declined), rebill
//     (approved, event rebill) and trash (declined); all are in the
//     shared table.
//   - binom: cnv_id, payout, cnv_status, cnv_currency; Binom's cnv_status
//     is free text, so unknown values are custom events (CustomEvents).
//   - affise: clickid, sum, transactionid, status, currency, goal, with
//     Affise's {status} macro values 1 approved, 2 pending, 3 declined and
//     5 "approved and put on hold", which is pending here: its payout is
//     not confirmed yet. Affise documents no 4 in postbacks; it is a
//     bad_status.
//
// Macros (the postback URL each network is shown, PostbackQuery) assume
// the offer URL hands our click id to the network in its sub1 (or the
// tracker's external id), as README's examples do:
//
//   - generic, exoclick: the usual affiliate-network macros {sub1},
//     {payout}, {transaction_id}, {status}; networks spell them
//     differently, so check the network's own list.
//   - voluum: Voluum's traffic-source postback tokens {externalid} and
//     {payout} (Voluum relays a conversion of a click that came from us).
//   - keitaro: Keitaro's S2S postback placeholders {external_id},
//     {revenue}, {tid}, {status}.
//   - binom: Binom's traffic-source postback tokens {externalid},
//     {payout}, {cnv_status}.
//   - affise: Affise's affiliate postback macros {sub1} (Affise has no
//     click id macro: the click id travels in sub1), {sum},
//     {transactionid}, {status}, {currency}, {goal}.
func LookupPreset(name string) (Preset, bool) {
	switch strings.ToLower(name) {
	case "generic":
		return newPreset("generic", genericParams, networkMacros, nil, false), true
	case "exoclick":
		names := genericParams
		names.ClickID, names.Payout = "tag", "value"
		return newPreset("exoclick", names, networkMacros, nil, false), true
	case "voluum":
		names := genericParams
		names.Status = "et"
		return newPreset("voluum", names, ParamNames{ClickID: "{externalid}", Payout: "{payout}"}, []statusWord{
			{EventLead, StatusApproved, EventLead},
		}, true), true
	case "keitaro":
		names := genericParams
		names.ClickID, names.TxID = "subid", "tid"
		return newPreset("keitaro", names, ParamNames{
			ClickID: "{external_id}", Payout: "{revenue}", TxID: "{tid}", Status: "{status}",
		}, nil, false), true
	case "binom":
		names := genericParams
		names.ClickID, names.Status, names.Currency = "cnv_id", "cnv_status", "cnv_currency"
		return newPreset("binom", names, ParamNames{
			ClickID: "{externalid}", Payout: "{payout}", Status: "{cnv_status}",
		}, nil, true), true
	case "affise":
		names := genericParams
		names.ClickID, names.Payout, names.TxID = "clickid", "sum", "transactionid"
		return newPreset("affise", names, ParamNames{
			ClickID: "{sub1}", Payout: "{sum}", TxID: "{transactionid}", Status: "{status}",
			Currency: "{currency}", Goal: "{goal}",
		}, []statusWord{
			{"2", StatusPending, ""},
			{"3", StatusDeclined, ""},
			{"5", StatusPending, ""},
		}, false), true
	}
	return Preset{}, false
}

// networkMacros are the usual affiliate-network macros (generic presets).
var networkMacros = ParamNames{
	ClickID: "{sub1}", Payout: "{payout}", TxID: "{transaction_id}", Status: "{status}",
}

// SecretPlaceholder stands for the network's secret in PostbackQuery: the
// secret itself is never shown back, the user writes it in.
const SecretPlaceholder = "YOUR_SECRET"

// PostbackQuery is the query string of the postback URL to give the
// network (without the '?'): each value p.Macros asks for, under p's
// parameter name (overrides applied) and in a fixed order, then, when
// withSecret, the secret parameter with SecretPlaceholder. Macros are
// written as they are, unescaped: the network replaces them.
func (p Preset) PostbackQuery(withSecret bool) string {
	var b strings.Builder
	add := func(name, value string) {
		if name == "" || value == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(value)
	}
	add(p.Params.ClickID, p.Macros.ClickID)
	add(p.Params.Payout, p.Macros.Payout)
	add(p.Params.TxID, p.Macros.TxID)
	add(p.Params.Status, p.Macros.Status)
	add(p.Params.Currency, p.Macros.Currency)
	add(p.Params.Goal, p.Macros.Goal)
	if withSecret {
		add(p.Params.Secret, SecretPlaceholder)
	}
	return b.String()
}

// PresetNames lists the names LookupPreset knows, sorted.
func PresetNames() []string {
	return []string{"affise", "binom", "exoclick", "generic", "keitaro", "voluum"}
}

// WithOverrides returns p with each non-empty name of o replacing p's
// (a network's "params" in SPEC §8). The maps are shared with p.
func (p Preset) WithOverrides(o ParamNames) Preset {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&p.Params.ClickID, o.ClickID)
	set(&p.Params.Payout, o.Payout)
	set(&p.Params.TxID, o.TxID)
	set(&p.Params.Status, o.Status)
	set(&p.Params.Currency, o.Currency)
	set(&p.Params.Goal, o.Goal)
	set(&p.Params.Secret, o.Secret)
	return p
}

var genericParams = ParamNames{
	ClickID: "cid", Payout: "payout", TxID: "txid", Status: "status",
	Currency: "currency", Goal: "goal", Secret: "secret",
}

type statusWord struct {
	raw    string
	status ConvStatus
	event  string
}

// commonStatuses is the status table every preset starts from.
var commonStatuses = []statusWord{
	{"approved", StatusApproved, ""},
	{"approve", StatusApproved, ""},
	{"confirmed", StatusApproved, ""},
	{"sale", StatusApproved, EventSale},
	{"1", StatusApproved, ""},
	{"rebill", StatusApproved, EventRebill},
	{"pending", StatusPending, ""},
	{"hold", StatusPending, ""},
	{"lead", StatusPending, EventLead},
	{"declined", StatusDeclined, ""},
	{"rejected", StatusDeclined, ""},
	{"reject", StatusDeclined, ""},
	{"cancelled", StatusDeclined, ""},
	{"canceled", StatusDeclined, ""},
	{"fraud", StatusDeclined, ""},
	{"trash", StatusDeclined, ""},
	{"chargeback", StatusChargeback, ""},
	{"reversed", StatusChargeback, ""},
	{"refund", StatusChargeback, ""},
	{"refunded", StatusChargeback, ""},
}

// newPreset builds fresh maps from the common table, then extra, whose
// entries replace common ones with the same raw value.
func newPreset(name string, params, macros ParamNames, extra []statusWord, custom bool) Preset {
	p := Preset{
		Name:         name,
		Params:       params,
		Macros:       macros,
		Statuses:     make(map[string]ConvStatus, len(commonStatuses)+len(extra)),
		Events:       make(map[string]string, 4),
		CustomEvents: custom,
	}
	for _, w := range slices.Concat(commonStatuses, extra) {
		p.Statuses[w.raw] = w.status
		delete(p.Events, w.raw)
		if w.event != "" {
			p.Events[w.raw] = w.event
		}
	}
	return p
}

// Postback is a parsed inbound postback (SPEC §1.4). Its strings never
// alias what the values function returned.
type Postback struct {
	ClickID   string // valid click id (1-64 of A-Z a-z 0-9 _ . -)
	TxID      string // network's transaction id, or "" (then the goal identifies the conversion)
	Goal      string // a ValidID, or "": the caller uses DefaultGoalID
	Currency  string // upper-case ISO 4217 code of the payout, or "": the caller defaults it
	RawStatus string // status as sent, trimmed, at most 64 bytes; "" when absent
	Status    ConvStatus
	EventType string // lead, sale, rebill, a custom event name, or "" when the network said nothing
	HasPayout bool   // the payout parameter was present (a dynamic goal needs it)
	Payout    Micros // payout, >= 0; 0 unless HasPayout
	Secret    string // the secret parameter as sent, or "": the caller compares it in constant time
}

// ParsePostback reads a postback through values, which returns every
// value of a parameter by name (nil when absent): a GET query, a POST form
// and a flattened JSON body all fit. Names come from p.Params; an empty
// name is never read.
//
// Values are trimmed of ASCII spaces; an empty value or an unsubstituted
// placeholder ({clickid}, {{cid}}, %CID%, [cid]: IsPlaceholder) is absent.
// Every parameter is single: repeating it with a different value is
// ReasonDuplicateParam (currencies and statuses compare without regard to
// case). Values must be valid UTF-8 without NUL (ReasonInvalidEncoding) and
// at most MaxPostbackParamBytes long (ReasonParamTooLong).
//
//   - The click id is required (ReasonMissingClickID) and must be 1-64
//     characters of A-Z a-z 0-9 _ . - (ReasonBadClickID). Whether it names
//     a known click is for the caller.
//   - The currency, when present, must be an ISO 4217 code
//     (ReasonBadCurrency).
//   - The payout, when present, is a plain non-negative decimal with
//     ParseAmount's grammar (ReasonBadPayout), but up to six decimals
//     whatever the currency: networks pay fractions of a cent (CPM, CPC
//     and revenue-share payouts such as 0.0035 USD), Micros hold them
//     exactly and FormatAmount prints them, so refusing them would lose
//     conversions. The currency's exponent cannot decide anyway when the
//     postback carries no currency.
//   - The raw status maps through p.Statuses (ReasonBadStatus when unknown,
//     see Preset for CustomEvents). An absent status is approved: most
//     networks fire their postback only on approval, and leave the status
//     out of it.
//   - The transaction id may hold any text without control characters
//     (ReasonBadTxID); the goal must be a ValidID (ReasonBadGoal).
//
// Values are checked in this order: secret, click id, currency, payout,
// status, transaction id, goal; the first failure is returned. On error the
// returned Postback holds Secret only, when it was read, so that the caller
// checks the secret before answering with the reason: a postback that
// fails authentication is a 403 and learns nothing more.
//
// ParsePostback only reads p, so one Preset may serve concurrent
// postbacks as long as nobody modifies its maps.
func ParsePostback(values func(name string) []string, p Preset) (Postback, error) {
	r := postbackReader{values: values}
	secret, err := r.single(p.Params.Secret, false)
	if err != nil {
		return Postback{}, err
	}
	pb, err := r.parse(p)
	pb.Secret = secret
	if err != nil {
		pb = Postback{Secret: secret}
	}
	own(&pb.ClickID, &pb.TxID, &pb.Goal, &pb.RawStatus, &pb.EventType, &pb.Secret)
	return pb, err
}

type postbackReader struct {
	values func(name string) []string
}

// parse reads everything but the secret.
func (r postbackReader) parse(p Preset) (Postback, error) {
	var pb Postback
	names := p.Params
	clickID, err := r.single(names.ClickID, false)
	switch {
	case err != nil:
		return pb, err
	case clickID == "":
		return pb, reject(ReasonMissingClickID, names.ClickID)
	case !validPostbackClickID(clickID):
		return pb, reject(ReasonBadClickID, names.ClickID)
	}
	pb.ClickID = clickID

	currency, err := r.single(names.Currency, true)
	if err != nil {
		return pb, err
	}
	if currency != "" {
		i := currencyIndex(currency)
		if i < 0 {
			return pb, reject(ReasonBadCurrency, names.Currency)
		}
		pb.Currency = currencyTable[i : i+3]
	}

	payout, err := r.single(names.Payout, false)
	if err != nil {
		return pb, err
	}
	if payout != "" {
		m, ok := parsePayout(payout, pb.Currency)
		if !ok {
			return pb, reject(ReasonBadPayout, names.Payout)
		}
		pb.HasPayout, pb.Payout = true, m
	}

	raw, err := r.single(names.Status, true)
	if err != nil {
		return pb, err
	}
	status, event, ok := resolveStatus(raw, p)
	if !ok {
		return pb, reject(ReasonBadStatus, names.Status)
	}
	pb.RawStatus, pb.Status, pb.EventType = raw, status, event

	if pb.TxID, err = r.single(names.TxID, false); err != nil {
		return pb, err
	}
	if hasControl(pb.TxID) {
		return pb, reject(ReasonBadTxID, names.TxID)
	}

	if pb.Goal, err = r.single(names.Goal, false); err != nil {
		return pb, err
	}
	if pb.Goal != "" && !ValidID(pb.Goal) {
		return pb, reject(ReasonBadGoal, names.Goal)
	}
	return pb, nil
}

// single is the one present value of the named parameter, or "".
func (r postbackReader) single(name string, fold bool) (string, error) {
	if name == "" {
		return "", nil
	}
	var kept string
	for _, v := range r.values(name) {
		v = trimSpace(v)
		if len(v) > MaxPostbackParamBytes {
			return "", reject(ReasonParamTooLong, name)
		}
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return "", reject(ReasonInvalidEncoding, name)
		}
		switch {
		case isPlaceholder(v):
		case kept == "":
			kept = v
		case v != kept && !(fold && strings.EqualFold(v, kept)):
			return "", reject(ReasonDuplicateParam, name)
		}
	}
	return kept, nil
}

// resolveStatus maps a raw status through p; raw "" is approved.
func resolveStatus(raw string, p Preset) (ConvStatus, string, bool) {
	if raw == "" {
		return StatusApproved, "", true
	}
	if len(raw) > maxRawStatusBytes {
		return "", "", false
	}
	var buf [maxRawStatusBytes]byte
	key := buf[:len(raw)]
	for i := range len(raw) {
		c := raw[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		key[i] = c
	}
	if s, ok := p.Statuses[string(key)]; ok && s.Valid() {
		return s, p.Events[string(key)], true
	}
	if p.CustomEvents && ValidID(raw) {
		return StatusApproved, raw, true
	}
	return "", "", false
}

// validPostbackClickID: 1-64 characters of A-Z a-z 0-9 _ . -
func validPostbackClickID(s string) bool {
	if len(s) == 0 || len(s) > maxPostbackClickIDBytes {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !isLetter(c) && !('0' <= c && c <= '9') && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// ParseRate parses a per-unit money rate (a payout, a cost per click) with
// ParseAmount's grammar but up to six decimals whatever the currency:
// traffic is bought and paid in fractions of a cent (0.002 USD a click).
func ParseRate(s, currency string) (Micros, error) {
	m, ok := parsePayout(s, currency)
	if !ok {
		return 0, reject(ReasonInvalidAmount, "amount")
	}
	return m, nil
}

// parsePayout parses a payout with ParseAmount's grammar at Micros
// precision (see ParsePostback). currency may be "": a comma amount that
// reads as a thousands grouping ("1,000") is then refused, as in any
// currency with fewer than three decimals.
func parsePayout(s, currency string) (Micros, bool) {
	whole, frac, sep, ok := splitAmount(s)
	if !ok || len(whole) > maxIntegerDigits ||
		(sep == ',' && CurrencyExponent(currency) < 3 && thousandsLike(whole, frac)) {
		return 0, false
	}
	frac = trimTrailingZeros(frac)
	if len(frac) > microDigits {
		return 0, false
	}
	var m int64
	for i := range len(whole) {
		m = m*10 + int64(whole[i]-'0')
	}
	for i := range microDigits {
		m *= 10
		if i < len(frac) {
			m += int64(frac[i] - '0')
		}
	}
	return Micros(m), true
}

// own copies the strings into one allocation, so that none aliases the
// caller's (possibly reused) buffers. Table-backed strings (currencies)
// are not passed in: they alias nothing.
func own(fields ...*string) {
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	if n == 0 {
		return
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range fields {
		b.WriteString(*f)
	}
	s := b.String()
	for _, f := range fields {
		l := len(*f)
		*f, s = s[:l], s[l:]
	}
}

// GoalType says where a goal's conversion value comes from (SPEC §1.4).
type GoalType string

// The goal types. The zero GoalType is dynamic: a postback's goal that the
// campaign does not configure, "default" included, takes the payout the
// network sends (SPEC §8: "dynamic unless configured").
const (
	GoalNone    GoalType = "none"    // value 0
	GoalFixed   GoalType = "fixed"   // the configured Goal.Value
	GoalDynamic GoalType = "dynamic" // the postback's payout
)

// Goal is a campaign's goal: its value type and, for a fixed goal, its
// value.
type Goal struct {
	Type  GoalType
	Value Micros
}

// Errors of ConversionValue: both are configuration errors the admin API
// should have refused.
var (
	ErrUnknownGoalType = errors.New("unknown goal type")
	ErrNegativeValue   = errors.New("negative conversion value")
)

// ConversionValue is the value of conversion pb for goal g. An offer whose
// payout is fixed by hand (offerPayout non-nil) overrides everything, the
// postback's payout and the goal alike. Otherwise a none goal is worth 0,
// a fixed goal g.Value, and a dynamic one (or the zero GoalType) pb.Payout.
// A dynamic goal whose postback has no payout (pb.HasPayout false) is worth
// 0 without error: the conversion still happened and is counted; the
// caller records reason "no_payout" on the raw hit so the missing macro
// shows up in reports.
func ConversionValue(g Goal, pb Postback, offerPayout *Micros) (Micros, error) {
	if offerPayout != nil {
		if *offerPayout < 0 {
			return 0, ErrNegativeValue
		}
		return *offerPayout, nil
	}
	switch g.Type {
	case GoalNone:
		return 0, nil
	case GoalFixed:
		if g.Value < 0 {
			return 0, ErrNegativeValue
		}
		return g.Value, nil
	case GoalDynamic, "":
		return pb.Payout, nil // 0 when !pb.HasPayout
	}
	return 0, ErrUnknownGoalType
}

// ParseGoalType reads a goal type from configuration ("none", "fixed",
// "dynamic"); "" is dynamic.
func ParseGoalType(s string) (GoalType, bool) {
	switch t := GoalType(s); t {
	case GoalNone, GoalFixed, GoalDynamic:
		return t, true
	case "":
		return GoalDynamic, true
	}
	return "", false
}

// Transition reports whether a conversion in status from may move to
// status to (from "" is a conversion not seen before: any valid status).
// Moving to the same status is allowed: a repeat, or a payout change.
//
//	pending    -> approved, declined
//	approved   -> chargeback, declined (a reversal before payment)
//	declined   -> approved (networks re-approve after review)
//	chargeback -> nothing else: final
//
// A refused transition changes nothing; the caller records the postback
// with its reason. Invalid statuses are never allowed.
func Transition(from, to ConvStatus) bool {
	if !to.Valid() {
		return false
	}
	if from == "" || from == to {
		return true
	}
	switch from {
	case StatusPending:
		return to == StatusApproved || to == StatusDeclined
	case StatusApproved:
		return to == StatusChargeback || to == StatusDeclined
	case StatusDeclined:
		return to == StatusApproved
	}
	return false
}

// CountsRevenue reports whether a conversion in status s counts in
// revenue: approved only. Pending conversions are reported separately as
// pending revenue (Keitaro's "revenue (hold)"), never added to revenue, so
// that the figure users compare with the network's payments is money
// confirmed; declined and chargeback count nothing.
func CountsRevenue(s ConvStatus) bool { return s == StatusApproved }
