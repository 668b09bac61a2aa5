package attribution

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// MaxRenderedURLBytes bounds a rendered template. Common servers refuse
// longer request lines (nginx's 8k header buffers, Apache's 8190 bytes),
// so a longer URL could only fail at delivery: it fails here instead, with
// a clear error.
const MaxRenderedURLBytes = 8192

// Errors of RenderTemplate.
var (
	ErrTemplateNotURL  = errors.New("template does not render to an absolute http or https URL")
	ErrTemplateTooLong = errors.New("rendered template is too long")
	// ErrTokenInHost: a value could pick where the URL leads (an open
	// redirect), so tokens may fill the path and query only.
	ErrTokenInHost = errors.New("a token in the scheme, host or port could send visitors anywhere: tokens may fill the path and query only")
)

// RenderTemplate replaces the {name} tokens of tmpl, name being one or
// more of A-Z a-z 0-9 _, with the value tokens returns for the name as
// written, escaped with url.QueryEscape (a space is '+', '&' is %26).
// Tokens are the click's stored macros ({external_id}, {zone_id}),
// {clickid}, {payout}, {revenue}, {currency}, {txid}, {goal}, {status}
// (SPEC §1.3, §3.1): which names exist, and whether case matters, is the
// tokens function's business.
//
// A token tokens does not know is replaced by nothing and listed in
// unknown, each name once, in order of first appearance (nil when every
// token was known): the caller shows them, since a misspelt macro silently
// sends an empty value. A '{' that does not start a valid token ("{}",
// "{a b}", "{x" at the end) is kept as it is; "{{name}}" renders as
// "{" + value + "}".
//
// The result must be an absolute http or https URL with a host and without
// spaces or control characters (ErrTemplateNotURL, wrapped with the
// detail), at most MaxRenderedURLBytes long (ErrTemplateTooLong). The
// template itself is trusted configuration: only values are escaped, and
// they cannot change the scheme or, escaped, the host. SSRF checks of the
// destination are the delivery's job.
func RenderTemplate(tmpl string, tokens func(name string) (string, bool)) (out string, unknown []string, err error) {
	var b strings.Builder
	b.Grow(len(tmpl) + 64)
	rest := tmpl
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		rest = rest[i:]
		name, ok := tokenAt(rest)
		if !ok {
			b.WriteByte('{')
			rest = rest[1:]
			continue
		}
		rest = rest[len(name)+2:]
		if v, ok := tokens(name); ok {
			b.WriteString(url.QueryEscape(v))
		} else if !slices.Contains(unknown, name) {
			unknown = append(unknown, name)
		}
		if b.Len() > MaxRenderedURLBytes {
			return "", unknown, ErrTemplateTooLong
		}
	}
	out = b.String()
	if len(out) > MaxRenderedURLBytes {
		return "", unknown, ErrTemplateTooLong
	}
	if err := checkHTTPURL(out); err != nil {
		return "", unknown, err
	}
	return out, unknown, nil
}

// TemplateHost returns the host (and port) every rendering of tmpl leads
// to: ErrTokenInHost, wrapped with the tokens' names, when a token sits in
// the scheme, user info, host or port; an ErrTemplateNotURL when the part
// before the path is not an absolute http(s) URL.
func TemplateHost(tmpl string) (string, error) {
	scheme, rest, ok := strings.Cut(tmpl, "://")
	if !ok {
		return "", fmt.Errorf("%w: no scheme", ErrTemplateNotURL)
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	origin := scheme + "://" + authority
	if names := TemplateTokens(origin); names != nil {
		return "", fmt.Errorf("%w ({%s})", ErrTokenInHost, strings.Join(names, "}, {"))
	}
	if err := checkHTTPURL(origin); err != nil {
		return "", err
	}
	u, _ := url.Parse(origin) // checked above
	return strings.ToLower(u.Host), nil
}

// RenderRedirect renders a redirect target (a campaign's offer URL) as
// RenderTemplate does, and refuses (ErrTokenInHost) a result whose host is
// not the template's own: a redirect never goes where a request's values
// say, even from a template saved before TemplateHost was checked.
func RenderRedirect(tmpl string, tokens func(name string) (string, bool)) (string, error) {
	host, err := TemplateHost(tmpl)
	if err != nil {
		return "", err
	}
	out, _, err := RenderTemplate(tmpl, tokens)
	if err != nil {
		return "", err
	}
	if u, err := url.Parse(out); err != nil || strings.ToLower(u.Host) != host {
		return "", ErrTokenInHost
	}
	return out, nil
}

// TemplateTokens lists the token names of tmpl, each once, in order of
// first appearance; nil when there are none. It uses RenderTemplate's
// syntax, so that a dashboard can check every name before saving.
func TemplateTokens(tmpl string) []string {
	var names []string
	for rest := tmpl; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return names
		}
		rest = rest[i:]
		name, ok := tokenAt(rest)
		if !ok {
			rest = rest[1:]
			continue
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		rest = rest[len(name)+2:]
	}
}

// tokenAt reads the token name of s, which starts with '{'.
func tokenAt(s string) (string, bool) {
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '}':
			return s[1:i], i > 1
		case isLetter(c) || ('0' <= c && c <= '9') || c == '_':
		default:
			return "", false
		}
	}
	return "", false
}

// checkHTTPURL accepts an absolute http or https URL with a host.
func checkHTTPURL(s string) error {
	for i := range len(s) {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("%w: space or control character at byte %d", ErrTemplateNotURL, i)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		// The inner error only: url.Error quotes the whole URL, values and
		// all, and this message is shown on delivery attempts.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%w: %v", ErrTemplateNotURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q", ErrTemplateNotURL, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return fmt.Errorf("%w: no host", ErrTemplateNotURL)
	}
	return nil
}
