package server

import (
	"bytes"

	"github.com/gofiber/fiber/v2"
)

// refuseAmbiguousLength answers 400 to a request with two different
// Content-Length headers (RFC 9112 §6.3) and closes the connection.
// fasthttp silently keeps the last one, while a proxy in front may have
// framed the body by the first: the disagreement is how requests are
// smuggled past a proxy. fasthttp keeps the raw header block, so the check
// is made here; a request without Content-Length (every GET pixel) costs
// one lookup.
func refuseAmbiguousLength(c *fiber.Ctx) error {
	h := &c.Request().Header
	if len(h.Peek(fiber.HeaderContentLength)) == 0 || !conflictingContentLengths(h.RawHeaders()) {
		return c.Next()
	}
	c.Context().SetConnectionClose()
	return errBadRequest("ambiguous_content_length", "the request has two different Content-Length headers")
}

// conflictingContentLengths reports whether a raw header block holds
// Content-Length headers with different values. Identical repeats are one
// value, as RFC 9110 §8.6 allows.
func conflictingContentLengths(raw []byte) bool {
	var first []byte
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 || !bytes.EqualFold(bytes.TrimSpace(line[:colon]), []byte(fiber.HeaderContentLength)) {
			continue
		}
		v := bytes.TrimSpace(line[colon+1:])
		switch {
		case first == nil:
			first = v
		case !bytes.Equal(first, v):
			return true
		}
	}
	return false
}
