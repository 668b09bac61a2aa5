package outbox

import (
	"net"
	"net/http"
	"time"
)

// userAgent is sent when the delivery sets none.
const userAgent = "pixelpost-outbox/1"

func newClient(cfg Config) (*http.Transport, *http.Client) {
	return NewGuardedClient(cfg.Timeout, cfg.AllowPrivateTargets, cfg.Workers)
}

// NewGuardedClient builds an HTTP client for outbound requests to
// destinations users configure (outbox deliveries, Meta's Graph API):
// every connection is dialled through the SSRF guard (the address actually
// dialled, after DNS); no proxy from the environment (a proxy would dial
// the target for us, past the guard); redirects are returned, not followed.
// Per-request deadlines come from the request's context; timeout bounds
// dialling and TLS. Close the transport's idle connections when done.
func NewGuardedClient(timeout time.Duration, allowPrivate bool, perHost int) (*http.Transport, *http.Client) {
	d := &net.Dialer{
		Timeout:        timeout,
		KeepAlive:      30 * time.Second,
		ControlContext: dialControl(allowPrivate),
	}
	t := &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    perHost,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	c := &http.Client{
		Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return t, c
}
