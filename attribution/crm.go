package attribution

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Reasons of CRM lead-stage events (SPEC §1.6). The per-event ones are
// CRMReject.Reason, recorded on the raw hit of the refused event; the body
// ones are the Reason of the *Rejection ParseCRMEvents returns. Like every
// reason they never change.
const (
	// Body: not a JSON object, a JSON array or CSV with a header row that
	// names the mapped columns.
	ReasonInvalidBody = "invalid_body"
	// Body: more than MaxCRMEvents events.
	ReasonTooManyEvents = "too_many_events"

	ReasonBadLeadID    = "bad_lead_id"   // absent, not a string or number, not 15-17 digits, leading 0
	ReasonMissingStage = "missing_stage" // event_name absent, null or blank
	ReasonBadStage     = "bad_stage"     // event_name not text, too long, or with control characters
	ReasonBadTime      = "bad_time"      // event_time absent or unreadable
	ReasonFutureTime   = "future_time"   // more than CRMClockSkew after now
	ReasonTooOld       = "too_old"       // more than CRMEventWindow before now
	ReasonInvalidEvent = "invalid_event" // an element of a JSON array that is not an object
	// ReasonBeforeFirstEvent is for the caller, who alone knows a lead's
	// history: an event earlier than the lead's first one (SPEC §1.6).
	// ParseCRMEvents never returns it.
	ReasonBeforeFirstEvent = "before_first_event"
)

// Limits of CRM events (SPEC §1.6, and Meta's own for event_time).
const (
	// MaxCRMEvents is the most events one request may carry.
	MaxCRMEvents = 10_000
	// CRMEventWindow is how old an event may be: Meta refuses an
	// event_time more than 7 days before the upload.
	CRMEventWindow = 7 * 24 * time.Hour
	// CRMClockSkew is how far ahead of now an event time may be: CRM and
	// server clocks disagree a little.
	CRMClockSkew = 5 * time.Minute
	// MaxCRMStageBytes bounds a stage name.
	MaxCRMStageBytes = 256
	// maxCRMPathBytes bounds a mapping path.
	maxCRMPathBytes = 256
	// maxCRMDetailValue bounds the quoted input echoed in a Detail.
	maxCRMDetailValue = 64
)

// CRMMapping says which field of an incoming event gives each value Meta
// needs. The JSON names are those of the CRM source API's "mapping" object
// (SPEC §8). Each is a path into a JSON event: a top-level key, or keys
// and array indices joined by dots ("properties.hs_lead_status",
// "items.0.id"); a top-level key that itself holds dots is found first,
// whole. In CSV the path is the column name. An empty path means the
// generic name: "lead_id", "event_name", "event_time".
type CRMMapping struct {
	LeadID    string `json:"lead_id"`
	EventName string `json:"event_name"`
	EventTime string `json:"event_time"`
}

// genericCRMMapping is the generic preset: Meta's own names.
var genericCRMMapping = CRMMapping{LeadID: "lead_id", EventName: "event_name", EventTime: "event_time"}

// CRMPreset returns the named mapping ("generic", "salesforce", "hubspot",
// "zapier"), matched without regard to ASCII case. Meta's lead id is never
// a field of the CRM itself: the integration that imports Facebook and
// Instagram leads stores it in a custom field, whose name the user
// overrides when theirs differs.
//
//   - generic: lead_id, event_name, event_time, Meta's names.
//   - salesforce: a Lead record as a record-triggered Flow's HTTP callout
//     or Apex's JSON.serialize sends it: the custom field Meta_Lead_ID__c
//     (a Text(18) field; text, so that Salesforce never rounds it), the
//     standard Status picklist (Open - Not Contacted, Working - Contacted,
//     Closed - Converted...) and LastModifiedDate, which Salesforce writes
//     as 2024-05-01T12:34:56.000+0000. Outbound Messages are SOAP XML and
//     are not accepted.
//   - hubspot: a contact as a workflow's "Send a webhook" action sends it:
//     properties.lead_id (a custom contact property holding Meta's lead
//     id), properties.hs_lead_status (NEW, OPEN, IN_PROGRESS,
//     OPEN_DEAL, UNQUALIFIED, ATTEMPTED_TO_CONTACT, CONNECTED, BAD_TIMING)
//     and occurredAt, in milliseconds as HubSpot writes every time. A
//     legacy property object {"value": ...} is read through (see
//     ParseCRMEvents).
//   - zapier: flat keys lead_id, stage, timestamp, as a "Webhooks by
//     Zapier" POST with payload type json (or a Zapier CSV export) sends
//     them; Zapier writes times as ISO 8601, which is read.
func CRMPreset(name string) (CRMMapping, bool) {
	switch strings.ToLower(name) {
	case "generic":
		return genericCRMMapping, true
	case "salesforce":
		return CRMMapping{LeadID: "Meta_Lead_ID__c", EventName: "Status", EventTime: "LastModifiedDate"}, true
	case "hubspot":
		return CRMMapping{LeadID: "properties.lead_id", EventName: "properties.hs_lead_status", EventTime: "occurredAt"}, true
	case "zapier":
		return CRMMapping{LeadID: "lead_id", EventName: "stage", EventTime: "timestamp"}, true
	}
	return CRMMapping{}, false
}

// CRMPresetNames lists the names CRMPreset knows, sorted.
func CRMPresetNames() []string {
	return []string{"generic", "hubspot", "salesforce", "zapier"}
}

// WithOverrides returns m with each non-empty path of o replacing m's (a
// CRM source's "mapping" over its "preset", SPEC §8).
func (m CRMMapping) WithOverrides(o CRMMapping) CRMMapping {
	if o.LeadID != "" {
		m.LeadID = o.LeadID
	}
	if o.EventName != "" {
		m.EventName = o.EventName
	}
	if o.EventTime != "" {
		m.EventTime = o.EventTime
	}
	return m
}

// withDefaults fills the empty paths with the generic names.
func (m CRMMapping) withDefaults() CRMMapping {
	return genericCRMMapping.WithOverrides(m)
}

// Validate checks a mapping before it is stored: each non-empty path is at
// most 256 bytes of valid UTF-8 without control characters. The error is a
// *Rejection with ReasonInvalidMapping and Param "lead_id", "event_name" or
// "event_time".
func (m CRMMapping) Validate() error {
	for _, p := range [...]struct{ json, path string }{
		{"lead_id", m.LeadID}, {"event_name", m.EventName}, {"event_time", m.EventTime},
	} {
		if len(p.path) > maxCRMPathBytes || !utf8.ValidString(p.path) || hasControl(p.path) {
			return reject(ReasonInvalidMapping, p.json)
		}
	}
	return nil
}

// CRMEvent is a valid lead-stage event, ready for Meta's Conversions API
// for CRM (SPEC §3.3). Its strings never alias the body.
type CRMEvent struct {
	LeadID    string    // 15-17 ASCII digits, no leading 0, exactly as sent
	EventName string    // the funnel stage, trimmed, case kept
	EventTime time.Time // UTC; Meta takes its unix seconds
	Index     int       // position in the body: array index, or data row (0 = first row after the header)
}

// CRMReject is a refused event: Index as in CRMEvent, Reason one of the
// per-event reasons, and Detail a short explanation for the user that
// quotes at most 64 bytes of the offending value.
type CRMReject = RowReject

// ParseCRMEvents reads the lead-stage events of one request (SPEC §1.6).
//
// The body is JSON (one object, or an array of objects) or CSV with a
// header row. contentType decides: text/csv, application/csv and
// text/comma-separated-values are CSV; application/json, text/json and
// any +json type are JSON; anything else (or nothing) is JSON when the
// body's first non-space byte is '{' or '[', else CSV. A UTF-8 byte order
// mark is skipped. Form-encoded bodies are not accepted: Zapier's webhook
// must send json.
//
// JSON: numbers are read as written, never through a float, so a 17-digit
// lead id keeps its last digit. Paths of m resolve as CRMMapping says; a
// value that is an object with a "value" key (HubSpot's legacy property
// objects) stands for that value; null is absent. An array element that is
// not an object is ReasonInvalidEvent.
//
// CSV: fields are separated by ',', or by ';' or a tab when the header
// holds no ',' but one of those (spreadsheet exports in locales whose
// decimal separator is ','). Column names match the paths of m exactly
// after trimming, else without regard to ASCII case; a header that lacks
// one of the three columns makes the body invalid (ReasonInvalidBody,
// Param naming the column), rather than refusing every row. A row shorter
// than the header lacks the missing cells. Empty lines are skipped.
//
// Each event gets the first failure of, in this order:
//
//   - lead id: a string or a number of 15 to 17 ASCII digits, trimmed,
//     without a leading 0 (ReasonBadLeadID). Meta's lead ids are 15 or 16
//     digits today, 17 leaves room; Meta takes the id as a JSON integer,
//     in which a leading 0 would be lost (and "0123..." names another
//     lead, if any).
//   - stage: a string (or a number, taken as written) that is not blank
//     (ReasonMissingStage), at most MaxCRMStageBytes of valid UTF-8
//     without control characters (ReasonBadStage).
//   - time: unix seconds (up to 12 digits, optionally with a fraction),
//     unix milliseconds (13 digits), or ISO 8601: a date, or a date and
//     time with 'T' or a space between them, minutes or seconds, any
//     fraction of a second, and a zone as Z, ±hh:mm, ±hhmm, ±hh or " UTC";
//     without a zone it is UTC (ReasonBadTime). An event time more than
//     CRMClockSkew after now is ReasonFutureTime, more than CRMEventWindow
//     before now ReasonTooOld.
//
// Valid events are returned in body order, even when others are
// refused; so are the rejections. Duplicates within one body are both
// returned: sending each (lead id, stage) once is the caller's business,
// as is ReasonBeforeFirstEvent.
//
// err is a *Rejection for the body as a whole, with no events returned:
// ReasonInvalidBody when it is not JSON or CSV at all (empty, malformed,
// trailing data after the JSON value), ReasonTooManyEvents over
// MaxCRMEvents, which is detected without reading further.
func ParseCRMEvents(body []byte, contentType string, m CRMMapping, now time.Time) (events []CRMEvent, rejected []CRMReject, err error) {
	p := crmParser{m: m.withDefaults(), now: now}
	if err := parseList(&p, body, contentType); err != nil {
		return nil, nil, err
	}
	return p.events, p.rejected, nil
}

// listParser reads a list of records sent as JSON or as CSV.
type listParser interface {
	parseJSON(body []byte) error
	parseCSV(body []byte) error
}

// parseList skips a UTF-8 byte order mark and hands the body to the JSON
// or the CSV reader of p, as crmIsJSON decides.
func parseList(p listParser, body []byte, contentType string) error {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	if crmIsJSON(body, contentType) {
		return p.parseJSON(body)
	}
	return p.parseCSV(body)
}

// crmIsJSON decides between JSON and CSV (see ParseCRMEvents).
func crmIsJSON(body []byte, contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(trimSpace(mt))
	switch {
	case mt == "text/csv" || mt == "application/csv" || mt == "text/comma-separated-values":
		return false
	case mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json"):
		return true
	}
	b := trimSpace(body)
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

type crmParser struct {
	m        CRMMapping
	now      time.Time
	events   []CRMEvent
	rejected []CRMReject
}

// crmKind is what a mapped value turned out to be.
type crmKind uint8

const (
	crmAbsent crmKind = iota
	crmString
	crmNumber // text is the number as written
	crmOther  // boolean, object or array
)

type crmValue struct {
	kind crmKind
	text string
}

func (p *crmParser) parseJSON(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	b := trimSpace(body)
	if len(b) > 0 && b[0] == '[' {
		if _, err := dec.Token(); err != nil {
			return reject(ReasonInvalidBody, "")
		}
		for i := 0; dec.More(); i++ {
			if i == MaxCRMEvents {
				return reject(ReasonTooManyEvents, "")
			}
			var v any
			if err := dec.Decode(&v); err != nil {
				return reject(ReasonInvalidBody, "")
			}
			obj, ok := v.(map[string]any)
			if !ok {
				p.refuse(i, ReasonInvalidEvent, "not a JSON object")
				continue
			}
			p.event(i, "", crmJSONGetter(obj))
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
			return reject(ReasonInvalidBody, "")
		}
	} else {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil || obj == nil {
			return reject(ReasonInvalidBody, "")
		}
		p.event(0, "", crmJSONGetter(obj))
	}
	if _, err := dec.Token(); err != io.EOF {
		return reject(ReasonInvalidBody, "")
	}
	return nil
}

// crmJSONGetter resolves mapping paths in one JSON event.
func crmJSONGetter(obj map[string]any) func(path string) crmValue {
	return func(path string) crmValue {
		v, ok := obj[path]
		if !ok {
			v, ok = crmJSONPath(obj, path)
		}
		if !ok {
			return crmValue{}
		}
		if o, isObj := v.(map[string]any); isObj {
			if inner, has := o["value"]; has {
				v = inner // HubSpot's legacy {"value": ..., "timestamp": ...}
			}
		}
		switch x := v.(type) {
		case nil:
			return crmValue{}
		case string:
			return crmValue{kind: crmString, text: x}
		case json.Number:
			return crmValue{kind: crmNumber, text: string(x)}
		}
		return crmValue{kind: crmOther}
	}
}

// crmJSONPath follows a dotted path of keys and array indices.
func crmJSONPath(v any, path string) (any, bool) {
	if !strings.Contains(path, ".") {
		return nil, false
	}
	for seg := range strings.SplitSeq(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			next, ok := c[seg]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, ok := crmPathIndex(seg)
			if !ok || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// crmPathIndex parses an array index of at most 6 ASCII digits.
func crmPathIndex(s string) (int, bool) {
	if s == "" || len(s) > 6 {
		return 0, false
	}
	n := 0
	for i := range len(s) {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func (p *crmParser) parseCSV(body []byte) error {
	if len(trimSpace(body)) == 0 {
		return reject(ReasonInvalidBody, "")
	}
	type column struct {
		path string
		i    int
	}
	var cols [3]column
	header := func(header []string) error {
		for i, path := range [...]string{p.m.LeadID, p.m.EventName, p.m.EventTime} {
			cols[i] = column{path, crmCSVColumn(header, path)}
			if cols[i].i < 0 {
				return reject(ReasonInvalidBody, paramName([]byte(path)))
			}
		}
		return nil
	}
	return readCSV(body, MaxCRMEvents, ReasonTooManyEvents, header, func(i, line int, rec []string) {
		get := func(path string) crmValue {
			for _, c := range cols {
				if c.path == path && c.i < len(rec) {
					return crmValue{kind: crmString, text: rec[c.i]}
				}
			}
			return crmValue{} // a short row
		}
		p.event(i, "line "+strconv.Itoa(line)+": ", get)
	}, func(i, line int) {
		p.refuse(i, ReasonInvalidEvent, "line "+strconv.Itoa(line)+": cannot be read as CSV")
	})
}

// readCSV reads a CSV body with a header row, separated as crmCSVComma
// says, rows shorter or longer than the header allowed: header gets the
// header row (and may refuse the body), row each data row with its index
// (0 is the first after the header) and its line. A body without a
// readable header is ReasonInvalidBody; a row past max is tooMany.
//
// Spreadsheets write stray quotes (Ann "Bo" Smith, or an opening quote
// never closed): such a record is read again as its first line alone with
// lenient quoting, and reading goes on from the next line, so one bad cell
// never rejects the file. A line that cannot be read even so goes to
// unreadable with its index and line; the others are read.
func readCSV(body []byte, max int, tooMany string, header func([]string) error, row func(i, line int, rec []string), unreadable func(i, line int)) error {
	comma := crmCSVComma(body)
	newReader := func(b []byte, lazy bool) *csv.Reader {
		r := csv.NewReader(bytes.NewReader(b))
		r.Comma, r.FieldsPerRecord, r.ReuseRecord, r.LazyQuotes = comma, -1, true, lazy
		return r
	}
	rest, base := body, 0 // base: lines of body before rest
	r := newReader(rest, false)
	// next reads the next record and its first line; at a malformed record
	// it reads that line alone, leniently, and restarts after it.
	next := func() (rec []string, line int, err error) {
		rec, err = r.Read()
		if err == nil {
			line, _ = r.FieldPos(0)
			return rec, base + line, nil
		}
		var pe *csv.ParseError
		if !errors.As(err, &pe) {
			return nil, 0, err // io.EOF
		}
		first, after := lineAt(rest, pe.StartLine)
		line = base + pe.StartLine
		rest, base = after, line
		r = newReader(rest, false)
		rec, err = newReader(first, true).Read()
		if err != nil {
			err = errUnreadableLine // never io.EOF: lines follow
		}
		return rec, line, err
	}
	h, _, err := next()
	if err != nil {
		return reject(ReasonInvalidBody, "")
	}
	if err := header(h); err != nil {
		return err
	}
	for i := 0; ; i++ {
		rec, line, err := next()
		if err == io.EOF {
			return nil
		}
		if i == max {
			return reject(tooMany, "")
		}
		if err != nil {
			unreadable(i, line)
			continue
		}
		row(i, line, rec)
	}
}

var errUnreadableLine = errors.New("cannot read the line as CSV")

// lineAt splits b around its n-th line (1-based): that line, without its
// line break, and what follows it.
func lineAt(b []byte, n int) (line, after []byte) {
	for ; n > 1; n-- {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return nil, nil
		}
		b = b[i+1:]
	}
	line, after, _ = bytes.Cut(b, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), after
}

// crmCSVComma is ',' unless the header line holds none but a ';' or a tab.
func crmCSVComma(body []byte) rune {
	line, _, _ := bytes.Cut(body, []byte("\n"))
	if bytes.IndexByte(line, ',') >= 0 {
		return ','
	}
	if bytes.IndexByte(line, ';') >= 0 {
		return ';'
	}
	if bytes.IndexByte(line, '\t') >= 0 {
		return '\t'
	}
	return ','
}

// crmCSVColumn is the index of the column named name, or -1.
func crmCSVColumn(header []string, name string) int {
	for i, h := range header {
		if trimSpace(h) == name {
			return i
		}
	}
	for i, h := range header {
		if strings.EqualFold(trimSpace(h), name) {
			return i
		}
	}
	return -1
}

// event validates one event; prefix starts its Detail (a CSV line).
func (p *crmParser) event(index int, prefix string, get func(path string) crmValue) {
	m := p.m
	id := get(m.LeadID)
	leadID := trimSpace(id.text)
	switch {
	case id.kind == crmAbsent:
		p.refuse(index, ReasonBadLeadID, prefix+m.LeadID+" is missing")
		return
	case id.kind == crmOther:
		p.refuse(index, ReasonBadLeadID, prefix+m.LeadID+" is not a string or a number")
		return
	case !validCRMLeadID(leadID):
		p.refuse(index, ReasonBadLeadID, prefix+m.LeadID+" "+crmQuote(id.text)+" is not 15 to 17 digits")
		return
	}

	st := get(m.EventName)
	stage := trimSpace(st.text)
	switch {
	case st.kind == crmOther:
		p.refuse(index, ReasonBadStage, prefix+m.EventName+" is not a string")
		return
	case stage == "":
		p.refuse(index, ReasonMissingStage, prefix+m.EventName+" is missing")
		return
	case len(stage) > MaxCRMStageBytes:
		p.refuse(index, ReasonBadStage, prefix+m.EventName+" is longer than "+strconv.Itoa(MaxCRMStageBytes)+" bytes")
		return
	case !utf8.ValidString(stage) || strings.ContainsRune(stage, utf8.RuneError) || hasControl(stage):
		p.refuse(index, ReasonBadStage, prefix+m.EventName+" "+crmQuote(stage)+" is not plain text")
		return
	}

	tv := get(m.EventTime)
	var t time.Time
	ok := false
	if tv.kind == crmString || tv.kind == crmNumber {
		t, ok = parseCRMTime(trimSpace(tv.text))
	}
	switch {
	case tv.kind == crmAbsent:
		p.refuse(index, ReasonBadTime, prefix+m.EventTime+" is missing")
		return
	case !ok:
		p.refuse(index, ReasonBadTime, prefix+m.EventTime+" "+crmQuote(tv.text)+" is not a unix time or ISO 8601")
		return
	case t.After(p.now.Add(CRMClockSkew)):
		p.refuse(index, ReasonFutureTime, prefix+m.EventTime+" "+t.Format(time.RFC3339)+" is in the future")
		return
	case t.Before(p.now.Add(-CRMEventWindow)):
		p.refuse(index, ReasonTooOld, prefix+m.EventTime+" "+t.Format(time.RFC3339)+" is more than 7 days old")
		return
	}
	p.events = append(p.events, CRMEvent{
		LeadID:    strings.Clone(leadID),
		EventName: strings.Clone(stage),
		EventTime: t,
		Index:     index,
	})
}

func (p *crmParser) refuse(index int, reason, detail string) {
	p.rejected = append(p.rejected, CRMReject{Index: index, Reason: reason, Detail: detail})
}

// crmQuote quotes at most maxCRMDetailValue bytes of s for a Detail.
func crmQuote(s string) string {
	if len(s) > maxCRMDetailValue {
		cut := maxCRMDetailValue
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

// validCRMLeadID: 15 to 17 ASCII digits, the first not a 0.
func validCRMLeadID(s string) bool {
	if len(s) < 15 || len(s) > 17 || s[0] == '0' {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// crmTimeLayouts are the ISO 8601 forms ParseCRMEvents reads, once a space
// between date and time has become a 'T'. time.Parse also accepts a
// fraction of a second after the seconds, even when the layout has none.
var crmTimeLayouts = [...]string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05Z07",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04Z0700",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseCRMTime reads an event time (see ParseCRMEvents) as UTC.
func parseCRMTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if t, ok := parseCRMUnixTime(s); ok {
		return t, true
	}
	if len(s) < len("2006-01-02") || len(s) > 64 || s[4] != '-' {
		return time.Time{}, false
	}
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	if rest, ok := strings.CutSuffix(s, " UTC"); ok {
		s = rest + "Z"
	} else if n := len(s); n > 6 && s[n-6] == ' ' && (s[n-5] == '+' || s[n-5] == '-') {
		s = s[:n-6] + s[n-5:] // "... +0000", as Ruby and Postgres write
	}
	for _, layout := range crmTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseCRMUnixTime reads unix seconds (1-12 digits, optionally a '.' and up
// to 9 digits of fraction) or unix milliseconds (13 digits).
func parseCRMUnixTime(s string) (time.Time, bool) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if !crmDigits(whole) || (hasFrac && (!crmDigits(frac) || len(frac) > 9)) {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	switch {
	case len(whole) == 13 && !hasFrac:
		return time.UnixMilli(n).UTC(), true
	case len(whole) <= 12:
		var nanos int64
		for i := range 9 {
			nanos *= 10
			if i < len(frac) {
				nanos += int64(frac[i] - '0')
			}
		}
		return time.Unix(n, nanos).UTC(), true
	}
	return time.Time{}, false
}

func crmDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
