package attribution

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Bulk registrant import (SPEC §1.2): the list a webinar platform or a
// spreadsheet exports, read into registrants of one webinar.

// MaxImportRows is the most registrants one import request may carry.
const MaxImportRows = 10_000

// Per-row reasons of an import (besides ReasonMissingEmail,
// ReasonInvalidEmail, ReasonBadTime and ReasonFutureTime).
const (
	ReasonInvalidRow  = "invalid_row"   // a JSON element neither a string nor an object
	ReasonTooManyRows = "too_many_rows" // the body holds more than MaxImportRows
)

// Registrant is one valid row of an import.
type Registrant struct {
	Email        string    // normalised (NormalizeEmail)
	RegisteredAt time.Time // UTC; zero when the row gives none
	Index        int       // as in RowReject
}

// RowReject is a refused row: Index is its position in the body (array
// index, or data row: 0 is the first row after a CSV header), Reason a
// per-row reason and Detail a short explanation that quotes at most 64
// bytes of the offending value.
type RowReject struct {
	Index  int
	Reason string
	Detail string
}

// Column names a CSV header may give the email and the registration time,
// compared without regard to case or surrounding spaces: the usual English
// and French spreadsheet headers.
var (
	emailColumns = []string{"email", "e-mail", "email address", "e-mail address", "adresse email", "adresse e-mail", "courriel", "mail"}
	timeColumns  = []string{"registered_at", "registration_date", "registration date", "registered", "date d'inscription", "created_at", "date"}
)

// ParseRegistrants reads an import body: JSON (an array of email strings
// or of objects {"email", "registered_at"}, or an object
// {"registrants": [...]}) or CSV with a header row naming an email column
// (emailColumns) and maybe a time column (timeColumns); contentType
// decides as in ParseCRMEvents, and so does the CSV separator. Times are
// read as CRM event times are; one more than CRMClockSkew after now is
// ReasonFutureTime. Emails are normalised as the pixel's are.
//
// err is a *Rejection for the body as a whole: ReasonInvalidBody (not JSON
// or CSV, or no email column, with Param "email"), ReasonTooManyRows.
func ParseRegistrants(body []byte, contentType string, now time.Time) (rows []Registrant, rejected []RowReject, err error) {
	p := registrantParser{now: now}
	if err := parseList(&p, body, contentType); err != nil {
		return nil, nil, err
	}
	return p.rows, p.rejected, nil
}

type registrantParser struct {
	now      time.Time
	rows     []Registrant
	rejected []RowReject
}

func (p *registrantParser) parseJSON(body []byte) error {
	var list []json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil {
		var wrapped struct {
			Registrants []json.RawMessage `json:"registrants"`
		}
		if json.Unmarshal(body, &wrapped) != nil || wrapped.Registrants == nil {
			return reject(ReasonInvalidBody, "")
		}
		list = wrapped.Registrants
	}
	if len(list) > MaxImportRows {
		return reject(ReasonTooManyRows, "")
	}
	for i, raw := range list {
		var email string
		if json.Unmarshal(raw, &email) == nil {
			p.row(i, "", email, "")
			continue
		}
		var obj struct {
			Email        *string `json:"email"`
			RegisteredAt *string `json:"registered_at"`
		}
		if json.Unmarshal(raw, &obj) != nil || !bytes.HasPrefix(trimSpace(raw), []byte("{")) {
			p.refuse(i, ReasonInvalidRow, "not an email string or an object")
			continue
		}
		p.row(i, "", deref(obj.Email), deref(obj.RegisteredAt))
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (p *registrantParser) parseCSV(body []byte) error {
	emailCol, timeCol := -1, -1
	header := func(header []string) error {
		emailCol, timeCol = namedColumn(header, emailColumns), namedColumn(header, timeColumns)
		if emailCol < 0 {
			return reject(ReasonInvalidBody, "email")
		}
		return nil
	}
	cell := func(rec []string, i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return rec[i]
	}
	return readCSV(body, MaxImportRows, ReasonTooManyRows, header, func(i, line int, rec []string) {
		p.row(i, "line "+strconv.Itoa(line)+": ", cell(rec, emailCol), cell(rec, timeCol))
	})
}

// namedColumn is the index of the first header cell that is one of names,
// or -1.
func namedColumn(header []string, names []string) int {
	for _, name := range names {
		for i, h := range header {
			if strings.EqualFold(trimSpace(h), name) {
				return i
			}
		}
	}
	return -1
}

// row validates one registrant; prefix starts its Detail (a CSV line).
func (p *registrantParser) row(index int, prefix, email, at string) {
	email = trimSpace(email)
	if email == "" {
		p.refuse(index, ReasonMissingEmail, prefix+"no email")
		return
	}
	norm, err := NormalizeEmail(email)
	if err != nil {
		p.refuse(index, ReasonInvalidEmail, prefix+crmQuote(email)+" is not an email address")
		return
	}
	var t time.Time
	if at = trimSpace(at); at != "" {
		var ok bool
		if t, ok = parseCRMTime(at); !ok {
			p.refuse(index, ReasonBadTime, prefix+crmQuote(at)+" is not a date or a time")
			return
		}
		if t.After(p.now.Add(CRMClockSkew)) {
			p.refuse(index, ReasonFutureTime, prefix+crmQuote(at)+" is in the future")
			return
		}
	}
	p.rows = append(p.rows, Registrant{Email: norm, RegisteredAt: t, Index: index})
}

func (p *registrantParser) refuse(index int, reason, detail string) {
	p.rejected = append(p.rejected, RowReject{Index: index, Reason: reason, Detail: detail})
}
