package outbox

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"syscall"
)

var (
	// ErrBlocked: the destination is an address the SSRF guard refuses.
	// Errors of the guard are *BlockedError, which matches ErrBlocked.
	ErrBlocked = errors.New("destination not allowed")
	// ErrBadURL: the URL cannot be delivered to at all (syntax, scheme, no
	// host). Such deliveries fail without retry.
	ErrBadURL = errors.New("bad url")
)

// BlockedError is the SSRF guard's refusal of a destination.
type BlockedError struct {
	Dest   string // the address refused, as dialled or as written in the URL
	Reason string // "loopback", "private", "link-local", ...
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("destination %s is %s; set --allow-private-targets to allow it", e.Dest, e.Reason)
}

// Is makes errors.Is(err, ErrBlocked) true.
func (e *BlockedError) Is(target error) bool { return target == ErrBlocked }

// Ranges refused besides those netip classifies. Immutable.
var (
	prefixCGNAT    = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598 shared address space
	prefixThisNet  = netip.MustParsePrefix("0.0.0.0/8")     // "this network": 0.x reaches the host on Linux
	prefixReserved = netip.MustParsePrefix("240.0.0.0/4")   // reserved, and 255.255.255.255 broadcast
	prefixNAT64    = netip.MustParsePrefix("64:ff9b::/96")  // RFC 6052: an IPv4 address behind a NAT64
	addrMetadata   = netip.MustParseAddr("169.254.169.254") // cloud instance metadata
)

// blockedReason says why a is refused, or "" if it is a public address.
func blockedReason(a netip.Addr) string {
	a = a.WithZone("")
	switch {
	case a.Is4In6():
		if r := blockedReason(a.Unmap()); r != "" {
			return r + " (IPv4-mapped)"
		}
		return ""
	case prefixNAT64.Contains(a):
		b := a.As16()
		if r := blockedReason(netip.AddrFrom4([4]byte(b[12:]))); r != "" {
			return r + " (NAT64)"
		}
		return ""
	case !a.IsValid(), a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a == addrMetadata:
		return "link-local (cloud metadata service)"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast():
		return "multicast"
	case prefixCGNAT.Contains(a):
		return "shared address space (CGNAT)"
	case prefixThisNet.Contains(a):
		return "unspecified (0.0.0.0/8)"
	case prefixReserved.Contains(a):
		return "reserved or broadcast"
	}
	return ""
}

// checkAddr is the guard on one address.
func checkAddr(a netip.Addr) error {
	if r := blockedReason(a); r != "" {
		return &BlockedError{Dest: a.WithZone("").String(), Reason: r}
	}
	return nil
}

// CheckURL validates a configured target URL early: http or https, a host,
// and, unless allowPrivate, no literal IP address the guard refuses. Host
// names are not resolved: the guard on the dialled address (every
// delivery's real check) covers them, whatever DNS answers at send time.
// Errors match ErrBadURL or ErrBlocked (*BlockedError).
func CheckURL(raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a token
		}
		return fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q not allowed, only http and https", ErrBadURL, u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return fmt.Errorf("%w: no host", ErrBadURL)
	}
	if allowPrivate {
		return nil
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil {
		return checkAddr(a)
	}
	return nil
}

// dialControl is the net.Dialer hook that checks every address actually
// dialled, after DNS resolution: for every connection the transport opens,
// whatever name, DNS answer or retry led to it.
func dialControl(allowPrivate bool) func(ctx context.Context, network, address string, c syscall.RawConn) error {
	return func(_ context.Context, network, address string, _ syscall.RawConn) error {
		switch network {
		case "tcp4", "tcp6":
		default:
			return fmt.Errorf("%w: network %s", ErrBlocked, network)
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot parse dialled address %q", ErrBlocked, address)
		}
		if allowPrivate {
			return nil
		}
		return checkAddr(ap.Addr())
	}
}
