package load

import (
	"net/url"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"
)

// S2S drives the click redirect and then the postback endpoint of one
// campaign: clicks with a traffic source's macros, then one postback per
// click (approved, payout 1.50, txid = the click's index).
type S2S struct {
	Base     string // http://host:port
	Account  string
	Campaign string
	Network  string // path segment of the network; "" for the generic names
	Secret   string

	mu     sync.Mutex
	clicks []string // click ids by request index
}

// ClickURL is the URL of click i.
func (s *S2S) ClickURL(dst []byte, i int) []byte {
	dst = append(dst, s.Base...)
	dst = append(dst, "/c/"...)
	dst = append(dst, s.Campaign...)
	dst = append(dst, "?external_id=ext"...)
	dst = strconv.AppendInt(dst, int64(i), 10)
	dst = append(dst, "&zone_id="...)
	dst = strconv.AppendInt(dst, int64(i%50), 10)
	return append(dst, "&cost=0.002&country=FR&site_id=77"...)
}

// Clicked keeps the click id of a redirect (Options.OnResponse).
func (s *S2S) Clicked(i int, resp *fasthttp.Response) {
	loc, err := url.Parse(string(resp.Header.Peek("Location")))
	if err != nil {
		return
	}
	id := loc.Query().Get("sub1")
	s.mu.Lock()
	for len(s.clicks) <= i {
		s.clicks = append(s.clicks, "")
	}
	s.clicks[i] = id
	s.mu.Unlock()
}

// Clicks is the number of click ids kept.
func (s *S2S) Clicks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clicks)
}

// PostbackURL is the postback of click i (modulo the clicks kept).
func (s *S2S) PostbackURL(dst []byte, i int) []byte {
	s.mu.Lock()
	id := s.clicks[i%len(s.clicks)]
	s.mu.Unlock()
	dst = append(dst, s.Base...)
	dst = append(dst, "/v1/postback/"...)
	dst = append(dst, s.Account...)
	if s.Network != "" {
		dst = append(dst, '/')
		dst = append(dst, s.Network...)
	}
	dst = append(dst, "?cid="...)
	dst = append(dst, id...)
	dst = append(dst, "&payout=1.50&status=approved&txid=t"...)
	dst = strconv.AppendInt(dst, int64(i), 10)
	if s.Secret != "" {
		dst = append(dst, "&secret="...)
		dst = append(dst, s.Secret...)
	}
	return dst
}
