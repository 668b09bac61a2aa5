package load

import (
	"crypto/md5"
	"encoding/hex"
	"net/url"
	"strconv"
)

// Leads drives the lead endpoint with card submissions (GET, the card's
// default) carrying a valid MD5 token.
type Leads struct {
	Base     string // http://host:port
	Endpoint string
	Salt     string
}

// URL of lead i: name, email, screen name, two hidden fields and the
// token over the three fields (keys email, name, screen_name).
func (l *Leads) URL(dst []byte, i int) []byte {
	n := strconv.Itoa(i)
	email, name, handle := "lead"+n+"@bench.example", "Lead "+n, "@lead"+n
	sum := md5.Sum([]byte(email + "," + name + "," + handle + "," + l.Salt))
	q := url.Values{"email": {email}, "name": {name}, "screen_name": {handle},
		"source": {"TWITTER"}, "campaign": {"bench"}, "token": {hex.EncodeToString(sum[:])}}
	dst = append(dst, l.Base...)
	dst = append(dst, "/v1/leads/"...)
	dst = append(dst, l.Endpoint...)
	dst = append(dst, '?')
	return append(dst, q.Encode()...)
}
