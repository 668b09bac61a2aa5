package server

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/storage"
)

// request is what a tracking endpoint reads of its HTTP request to decide
// a hit. A handler's is a view over Fiber's buffers, valid while the
// handler runs; a deferred hit's (storage.Request) is read back by the
// applier, which decides the hit with the same code once the account and
// configuration it needs can be read.
type request struct {
	method         string
	query          []byte
	contentType    []byte
	body           []byte
	client         netip.Addr
	attendeeCookie string
	clickCookie    string
	endpoint       string // a lead endpoint's id (the path names no account)
}

// requestOf views c. Nothing is copied: keep the request only through
// deferred.
func (s *Server) requestOf(c *fiber.Ctx) request {
	r := request{
		method:         c.Method(),
		query:          c.Request().URI().QueryString(),
		client:         s.clientAddr(c),
		attendeeCookie: c.Cookies(attendeeCookie),
		clickCookie:    c.Cookies(clickCookie),
	}
	if r.method == fiber.MethodPost {
		r.contentType, r.body = c.Request().Header.ContentType(), c.Body()
	}
	return r
}

// deferred is an owned copy of r for a hit the applier will decide later.
func (r *request) deferred() *storage.Request {
	addr := ""
	if r.client.IsValid() {
		addr = r.client.String()
	}
	return &storage.Request{
		Method: strings.Clone(r.method), Query: string(r.query), ContentType: string(r.contentType),
		Body: string(r.body), ClientAddr: addr, AttendeeCookie: strings.Clone(r.attendeeCookie),
		ClickCookie: strings.Clone(r.clickCookie), Endpoint: strings.Clone(r.endpoint),
	}
}

// storedRequest is the request of a deferred hit.
func storedRequest(d *storage.Request) request {
	client, _ := netip.ParseAddr(d.ClientAddr) // "" (no address) stays the zero Addr
	return request{method: d.Method, query: []byte(d.Query), contentType: []byte(d.ContentType),
		body: []byte(d.Body), client: client, attendeeCookie: d.AttendeeCookie,
		clickCookie: d.ClickCookie, endpoint: d.Endpoint}
}
