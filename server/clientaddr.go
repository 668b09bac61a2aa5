package server

import (
	"bytes"
	"net/netip"

	"github.com/gofiber/fiber/v2"
)

// clientAddr is the request's client address: the one address that
// allow-lists, the rate limiter and recorded hits use. It is the
// connection's peer, unless the peer is a trusted proxy: then it is the
// rightmost X-Forwarded-For address that is not a trusted proxy (nginx's
// real_ip_recursive on). The leftmost address is whatever the client wrote,
// so it is never believed on its own. Without trusted proxies it is read
// without allocating (the pixel's path).
func (s *Server) clientAddr(c *fiber.Ctx) netip.Addr {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	if len(s.trustedProxies) == 0 {
		return peer
	}
	return forwardedClient(peer, c.Request().Header.PeekAll(fiber.HeaderXForwardedFor), s.trustedProxies)
}

// forwardedClient walks the X-Forwarded-For chain (every header line, in
// order, each a comma-separated list) from the right while the hop that
// added the entry is trusted. An entry that is not an address ends the
// walk at the last trusted hop: garbage cannot choose the client. When
// every hop is trusted, the leftmost address is the client.
func forwardedClient(peer netip.Addr, xff [][]byte, trusted []netip.Prefix) netip.Addr {
	client := peer
	for i := len(xff) - 1; i >= 0; i-- {
		line := xff[i]
		for len(line) > 0 {
			if !isTrusted(client, trusted) {
				return client
			}
			var entry []byte
			if j := bytes.LastIndexByte(line, ','); j >= 0 {
				entry, line = line[j+1:], line[:j]
			} else {
				entry, line = line, nil
			}
			entry = bytes.TrimSpace(entry)
			if len(entry) == 0 {
				continue // "a, , b": an empty entry says nothing
			}
			a, ok := parseForwardedAddr(entry)
			if !ok {
				return client
			}
			client = a
		}
	}
	return client
}

// parseForwardedAddr reads one X-Forwarded-For entry: an address, maybe
// with a port ("203.0.113.7:4711", "[2001:db8::1]:4711") as some proxies
// write it. Zones are dropped; IPv4-mapped IPv6 becomes IPv4.
func parseForwardedAddr(b []byte) (netip.Addr, bool) {
	s := string(b)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.WithZone("").Unmap(), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseTrustedProxies reads --trusted-proxies (IPs and CIDRs, checked by
// Config.Validate) as prefixes; an IP is a prefix of its full length.
func parseTrustedProxies(list []string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			a = a.WithZone("").Unmap() // clientAddr unmaps peers too
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}
