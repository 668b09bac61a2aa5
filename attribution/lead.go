package attribution

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Reasons of rejected leads (SPEC §1.5), recorded on the raw hit. Leads
// also use ReasonInvalidEmail, ReasonDuplicateParam, ReasonParamTooLong and
// ReasonInvalidEncoding. Like every reason they never change.
const (
	ReasonMissingEmail  = "missing_email"
	ReasonTooManyHidden = "too_many_hidden"
	// ReasonInvalidMapping refuses a configuration rather than a hit: a
	// LeadFields or CRMMapping whose Validate fails. Param names the
	// field at fault by its JSON name.
	ReasonInvalidMapping = "invalid_mapping"
)

// Limits of a lead (SPEC §1.5).
const (
	// MaxLeadValueBytes bounds every value of a lead as submitted, and the
	// names of hidden parameters.
	MaxLeadValueBytes = 256
	// MaxLeadHidden is how many hidden key/values a lead-generation card
	// may carry.
	MaxLeadHidden = 10
	// LeadTokenParam is the parameter that carries the MD5 token. It is
	// never a hidden key/value and never part of the token itself.
	LeadTokenParam = "token"
)

// LeadFields are the parameter names under which a lead-generation card
// sends its three fields; the card lets the advertiser rename each of them
// (name as nom_complet, email as adresse_email...). The JSON names are
// those of the lead endpoint API's "fields" object (SPEC §8). An empty
// name means the default one: "name", "email", "screen_name".
type LeadFields struct {
	Name       string `json:"name"`
	Email      string `json:"email"`
	ScreenName string `json:"screen_name"`
}

// DefaultLeadFields are the card's default parameter names.
func DefaultLeadFields() LeadFields {
	return LeadFields{Name: "name", Email: "email", ScreenName: "screen_name"}
}

// WithDefaults returns f with each empty name replaced by its default.
func (f LeadFields) WithDefaults() LeadFields {
	d := DefaultLeadFields()
	if f.Name == "" {
		f.Name = d.Name
	}
	if f.Email == "" {
		f.Email = d.Email
	}
	if f.ScreenName == "" {
		f.ScreenName = d.ScreenName
	}
	return f
}

// Validate checks a configuration before it is stored: after WithDefaults,
// each name must be at most MaxLeadValueBytes of valid UTF-8 without
// control characters or white space, differ from the two other names and
// not be LeadTokenParam. The error is a *Rejection with
// ReasonInvalidMapping and Param "name", "email" or "screen_name".
func (f LeadFields) Validate() error {
	f = f.WithDefaults()
	names := [...]struct{ json, key string }{
		{"name", f.Name}, {"email", f.Email}, {"screen_name", f.ScreenName},
	}
	for i, n := range names {
		if !validLeadKey(n.key) || n.key == LeadTokenParam {
			return reject(ReasonInvalidMapping, n.json)
		}
		for _, m := range names[:i] {
			if m.key == n.key {
				return reject(ReasonInvalidMapping, n.json)
			}
		}
	}
	return nil
}

// validLeadKey: 1 to MaxLeadValueBytes bytes of valid UTF-8 without control
// characters or spaces.
func validLeadKey(s string) bool {
	if s == "" || len(s) > MaxLeadValueBytes || !utf8.ValidString(s) || hasControl(s) {
		return false
	}
	return strings.IndexByte(s, ' ') < 0
}

// Lead is a parsed lead-generation card submission (SPEC §1.5). Its
// strings never alias what the values function returned.
type Lead struct {
	Name       string // trimmed of ASCII spaces, or "" when not sent
	Email      string // normalised (NormalizeEmail); never "" in a Lead ParseLead accepts
	ScreenName string // trimmed, kept as sent: the card may send the handle with its '@'
	// Hidden holds the hidden key/values the card carries (source=TWITTER,
	// campaign=..., UID=...), values exactly as sent; nil when none.
	Hidden map[string]string
	// Token is the token parameter, trimmed, or "". The caller checks it
	// with ValidToken when the endpoint has a salt.
	Token string

	// fields are the name, email and screen name parameters that were
	// sent, under their key names, with their values exactly as
	// submitted: the token hashes these, not the trimmed or normalised
	// ones.
	fields []Param
}

// ParseLead reads a lead-generation card submission through values, which
// returns every value of a parameter by name (nil when absent): a query
// string, a POST form and a flattened JSON body all fit. allKeys lists the
// name of every parameter received, in any order and with repeats; those
// that are none of the three keys (after keys.WithDefaults) nor
// LeadTokenParam are the hidden key/values.
//
// Every value, as submitted, must be at most MaxLeadValueBytes
// (ReasonParamTooLong) of valid UTF-8 without NUL (ReasonInvalidEncoding);
// hidden keys too. Every parameter is single: a second value that differs
// from the first after trimming (emails: in their normal form) is
// ReasonDuplicateParam, and the first value is the one kept. There are at
// most MaxLeadHidden hidden keys (ReasonTooManyHidden; a key sent with no
// value at all is not counted; reading stops at the first key too many).
// The email is required (ReasonMissingEmail
// when absent or blank) and must pass NormalizeEmail (ReasonInvalidEmail).
// Every rejection names the parameter at fault under its configured name.
// Values are not placeholders here: the card fills them itself, so
// "{name}" is a name.
//
// On error the Lead must not be stored. After ReasonTooManyHidden,
// ReasonMissingEmail or ReasonInvalidEmail it still holds every value read
// (Email excepted; after ReasonTooManyHidden, Hidden holds the
// MaxLeadHidden+1 keys read) and its token inputs, so that an endpoint with a salt
// checks the token first and answers a forged request 403 rather than
// 400; after an encoding error (invalid_encoding, param_too_long,
// duplicate_param) it holds Token only, when Token was itself well formed.
func ParseLead(values func(name string) []string, keys LeadFields, allKeys []string) (Lead, error) {
	keys = keys.WithDefaults()
	token, _, err := leadSingle(values, LeadTokenParam, false)
	if err != nil {
		return Lead{}, err
	}
	token = trimSpace(token)

	var l Lead
	type slot struct {
		key   string
		email bool
		dst   *string
	}
	var rawEmail string
	slots := [...]slot{
		{keys.Email, true, &rawEmail},
		{keys.Name, false, &l.Name},
		{keys.ScreenName, false, &l.ScreenName},
	}
	for i, s := range slots {
		if slices.ContainsFunc(slots[:i], func(o slot) bool { return o.key == s.key }) {
			continue // a misconfigured endpoint naming one key twice
		}
		v, present, err := leadSingle(values, s.key, s.email)
		if err != nil {
			return leadTokenOnly(token), err
		}
		if present {
			*s.dst = v
			l.fields = append(l.fields, Param{Key: s.key, Value: v})
		}
	}

	var hidden []Param
	for _, k := range allKeys {
		if k == "" || k == LeadTokenParam || k == keys.Email || k == keys.Name || k == keys.ScreenName ||
			slices.ContainsFunc(hidden, func(p Param) bool { return p.Key == k }) {
			continue
		}
		if len(k) > MaxLeadValueBytes {
			return leadTokenOnly(token), reject(ReasonParamTooLong, paramName([]byte(k)))
		}
		if !utf8.ValidString(k) || strings.IndexByte(k, 0) >= 0 {
			return leadTokenOnly(token), reject(ReasonInvalidEncoding, paramName([]byte(k)))
		}
		v, present, err := leadSingle(values, k, false)
		if err != nil {
			return leadTokenOnly(token), err
		}
		if present {
			hidden = append(hidden, Param{Key: k, Value: v})
		}
		if len(hidden) > MaxLeadHidden {
			break // one too many is enough to refuse the lead
		}
	}

	// Everything is well formed: own it all, so that what follows may
	// return a partial Lead.
	ptrs := []*string{&token, &rawEmail, &l.Name, &l.ScreenName}
	for i := range l.fields {
		ptrs = append(ptrs, &l.fields[i].Key, &l.fields[i].Value)
	}
	for i := range hidden {
		ptrs = append(ptrs, &hidden[i].Key, &hidden[i].Value)
	}
	own(ptrs...)
	l.Token = token
	l.Name, l.ScreenName = trimSpace(l.Name), trimSpace(l.ScreenName)
	if len(hidden) > 0 {
		l.Hidden = make(map[string]string, len(hidden))
		for _, p := range hidden {
			l.Hidden[p.Key] = p.Value
		}
	}

	if len(hidden) > MaxLeadHidden {
		return l, reject(ReasonTooManyHidden, "")
	}
	if trimSpace(rawEmail) == "" {
		return l, reject(ReasonMissingEmail, keys.Email)
	}
	email, err := NormalizeEmail(rawEmail)
	if err != nil {
		return l, reject(ReasonInvalidEmail, keys.Email)
	}
	// NormalizeEmail returns its input when it is already canonical, and
	// rawEmail is owned, so email aliases nothing of the caller's.
	l.Email = email
	return l, nil
}

// leadTokenOnly is the Lead returned after an encoding error.
func leadTokenOnly(token string) Lead {
	return Lead{Token: strings.Clone(token)}
}

// leadSingle is the first value of the named parameter as submitted, and
// whether it was sent at all. Every value is checked for length and
// encoding, and must equal the first after trimming (emails: in their
// normal form, when both have one).
func leadSingle(values func(name string) []string, name string, email bool) (string, bool, error) {
	var first string
	present := false
	for _, v := range values(name) {
		if len(v) > MaxLeadValueBytes {
			return "", false, reject(ReasonParamTooLong, paramName([]byte(name)))
		}
		if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return "", false, reject(ReasonInvalidEncoding, paramName([]byte(name)))
		}
		if !present {
			first, present = v, true
			continue
		}
		if !sameLeadValue(first, v, email) {
			return "", false, reject(ReasonDuplicateParam, paramName([]byte(name)))
		}
	}
	return first, present, nil
}

func sameLeadValue(a, b string, email bool) bool {
	a, b = trimSpace(a), trimSpace(b)
	if a == b {
		return true
	}
	if !email {
		return false
	}
	na, errA := NormalizeEmail(a)
	nb, errB := NormalizeEmail(b)
	return errA == nil && errB == nil && na == nb
}

// TokenValues returns what the card's token hashes for this lead, keyed by
// parameter name: the name, email and screen name parameters that were
// sent (a field the card left out is not part of the token; one sent
// empty is, as ""), with their values exactly as submitted, before
// trimming and normalisation, plus the hidden key/values when
// includeHidden (the endpoint's token_includes_hidden). The map is new:
// the caller may keep it.
func (l Lead) TokenValues(includeHidden bool) map[string]string {
	n := len(l.fields)
	if includeHidden {
		n += len(l.Hidden)
	}
	m := make(map[string]string, n)
	if includeHidden {
		maps.Copy(m, l.Hidden)
	}
	for _, p := range l.fields {
		m[p.Key] = p.Value
	}
	return m
}

// ValidToken reports whether l carries the token an endpoint with this
// salt expects: CheckLeadToken(l.Token, LeadToken(l.TokenValues(includeHidden), salt)).
// A Lead without a token is never valid.
func (l Lead) ValidToken(salt string, includeHidden bool) bool {
	return CheckLeadToken(l.Token, LeadToken(l.TokenValues(includeHidden), salt))
}

// LeadToken is the token a lead-generation card sends with a submission
// (SPEC §1.5): the lower-case hex MD5 of the values, ordered by their keys,
// joined with "," (no spaces, not URL-encoded), then "," and the salt.
// With keys email, name and screen_name:
//
//	MD5("<email>,<name>,<screen_name>,<salt>")
//
// Keys are ordered byte-wise, which is Unicode code point order: "UID"
// sorts before "campaign", as in any plain string sort. The values are
// hashed exactly as given: the card hashes what it submits, so a caller
// must pass the values as received (decoded from the query or form, but
// neither trimmed nor normalised; Lead.TokenValues does). Twitter's own
// example, MD5("jane_doe@gmail.com,Jane Doe,@jane_doe,4sq12z_1j#2mfs")
// for the user @jane_doe, hashes the handle with its '@', as the card
// sends it. A value holding a "," is hashed as is: the format has no
// escaping.
func LeadToken(values map[string]string, salt string) string {
	h := md5.New()
	for i, k := range slices.Sorted(maps.Keys(values)) {
		if i > 0 {
			h.Write([]byte{','})
		}
		h.Write([]byte(values[k]))
	}
	h.Write([]byte{','})
	h.Write([]byte(salt))
	var sum [md5.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// CheckLeadToken reports whether got, the token a request carries, is
// want, the token LeadToken computed, in time that depends only on their
// lengths. got is trimmed of ASCII spaces and compared without regard to
// the case of its hex digits. An empty got or want is never a match.
func CheckLeadToken(got, want string) bool {
	got = trimSpace(got)
	if got == "" || want == "" {
		return false
	}
	b := []byte(got)
	for i, c := range b {
		// Branch-free ASCII lower-casing: a token's timing must not
		// tell which of its characters are upper-case.
		upper := subtle.ConstantTimeLessOrEq(int('A'), int(c)) & subtle.ConstantTimeLessOrEq(int(c), int('Z'))
		b[i] = c | byte(upper<<5)
	}
	return subtle.ConstantTimeCompare(b, []byte(want)) == 1
}
