// Package secret masks the secrets an admin stores (postback secrets, token
// salts, signing secrets, access tokens) wherever they are shown again: an
// API answer or a log line gets the mask, never the value.
package secret

import "strings"

// maskPrefix starts every mask. A real secret is not expected to start
// with it, so a value that does is taken for a mask sent back.
const maskPrefix = "****"

// Mask hides s: "****" and its last 4 characters when it has 16 or more
// (enough for an admin to tell two secrets apart), "****" alone when it is
// shorter, "" when it is empty (nothing is set).
func Mask(s string) string {
	switch {
	case s == "":
		return ""
	case len(s) < 16:
		return maskPrefix
	default:
		return maskPrefix + s[len(s)-4:]
	}
}

// IsMasked reports whether v looks like a mask rather than a secret.
func IsMasked(v string) bool {
	return strings.HasPrefix(v, maskPrefix)
}

// Keep resolves a secret sent back to an API that shows it masked: the
// stored value when sent is its mask (a read, edit, write round trip), sent
// itself otherwise. ok is false when sent is a mask of something else: the
// caller must refuse it rather than store a mask as the secret.
func Keep(sent, stored string) (v string, ok bool) {
	if !IsMasked(sent) {
		return sent, true
	}
	if stored != "" && sent == Mask(stored) {
		return stored, true
	}
	return "", false
}

// Scrub replaces every occurrence of secret in s by its mask, should a
// remote's answer or an error echo it.
func Scrub(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, Mask(secret))
}
