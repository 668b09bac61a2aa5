package outbox

import (
	"net"
	"net/http"
	"time"
)

// userAgent is sent when the delivery sets none.
const userAgent = "pixelpost-outbox/1"

// newClient builds the one HTTP client of an outbox: every connection is
// dialled through the SSRF guard; no proxy from the environment (a proxy
// would dial the target for us, past the guard); redirects are returned,
// not followed (see the package comment). Per-attempt deadlines come from
// the request's context.
func newClient(cfg Config) (*http.Transport, *http.Client) {
	d := &net.Dialer{
		Timeout:        cfg.Timeout,
		KeepAlive:      30 * time.Second,
		ControlContext: dialControl(cfg.AllowPrivateTargets),
	}
	t := &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    cfg.Workers,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    cfg.Timeout,
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
