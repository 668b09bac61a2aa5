package meta

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/pixelpost/pixelpost/storage/outbox"
)

// userAgent identifies pixelpost to the Graph API.
const userAgent = "pixelpost-meta/1"

// newClient builds the forwarder's HTTP client: every connection is dialled
// through the SSRF guard of storage/outbox (applied to the address actually
// dialled, after DNS); no proxy from the environment (it would dial for us,
// past the guard); redirects are returned, not followed.
func newClient(cfg Config) (*http.Transport, *http.Client) {
	d := &net.Dialer{
		Timeout:        cfg.Timeout,
		KeepAlive:      30 * time.Second,
		ControlContext: dialGuard(cfg.AllowPrivateTargets),
	}
	t := &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           16,
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

// dialGuard checks each dialled address with outbox.CheckURL, which refuses
// literal addresses in loopback, private, link-local, CGNAT, multicast and
// reserved ranges (and their IPv4-mapped and NAT64 forms).
func dialGuard(allowPrivate bool) func(ctx context.Context, network, address string, c syscall.RawConn) error {
	return func(_ context.Context, network, address string, _ syscall.RawConn) error {
		switch network {
		case "tcp4", "tcp6":
		default:
			return fmt.Errorf("%w: network %s", outbox.ErrBlocked, network)
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot parse dialled address %q", outbox.ErrBlocked, address)
		}
		if allowPrivate {
			return nil
		}
		// The zone is dropped: CheckURL judges the address, and a zone
		// does not make a link-local address public.
		host := netip.AddrPortFrom(ap.Addr().WithZone(""), ap.Port()).String()
		return outbox.CheckURL("http://"+host+"/", false)
	}
}
