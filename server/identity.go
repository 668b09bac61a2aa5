package server

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

const (
	attendeeCookie = "pp_aid"
	cookieMaxAge   = 2 * 365 * 24 * 60 * 60 // seconds
	cookieIDLen    = 22                     // 16 random bytes, base64url
)

// hitIDEncoding keeps ids sortable: its alphabet is in ASCII order.
var hitIDEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// newHitID returns a unique, time-sortable hit id: 48 bits of Unix
// milliseconds then 80 random bits, 26 characters.
func newHitID(now time.Time) string {
	var b [16]byte
	// Hit ids must be unique, not secret: the runtime's per-thread ChaCha8
	// generator (math/rand/v2) gives 80 bits without a syscall or a lock.
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16|uint64(mrand.Uint32()>>16))
	binary.BigEndian.PutUint64(b[8:], mrand.Uint64())
	// Encoding into a stack array leaves one allocation, the string.
	var id [26]byte
	hitIDEncoding.Encode(id[:], b[:])
	return string(id[:])
}

// newCookieID returns an opaque attendee cookie value (128 random bits).
func newCookieID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validCookie returns an owned copy of v when it has the shape this server
// issues, else "": a forged cookie cannot inject arbitrary ids.
func validCookie(v string) string {
	if len(v) != cookieIDLen {
		return ""
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return ""
		}
	}
	return strings.Clone(v)
}

// setAttendeeCookie sets pp_aid.
func (s *Server) setAttendeeCookie(c *fiber.Ctx, id string) {
	s.setCookie(c, attendeeCookie, id, cookieMaxAge)
}

// setCookie sets a first-party tracking cookie: HttpOnly, SameSite=None;
// Secure over HTTPS (so the shop's domain can read it in a third-party
// context), Lax otherwise, on the configured domain.
func (s *Server) setCookie(c *fiber.Ctx, name, value string, maxAge int) {
	ck := &fiber.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		Domain:   s.cfg.CookieDomain,
		MaxAge:   maxAge,
		HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode,
	}
	if c.Protocol() == "https" {
		ck.Secure = true
		ck.SameSite = fiber.CookieSameSiteNoneMode
	}
	c.Cookie(ck)
}
