package throttle

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the trusted reverse proxies (config trusted_proxies): only a
// connection from one of them may say, in X-Forwarded-For, whom it
// forwards for. Empty: no proxy is trusted and the header is ignored.
type Proxies []netip.Prefix

func (p Proxies) trusted(a netip.Addr) bool {
	for _, pre := range p {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr is the address of the client that sent r: the connection's
// remote address, unless that is a trusted proxy; then the right-most
// X-Forwarded-For address that is not a trusted proxy (each proxy appends
// the address it got the request from, so what lies left of the first
// untrusted hop was written by the client and proves nothing). A
// malformed entry stops the walk at the last trusted hop; a chain of
// trusted proxies only gives its left-most one.
func (p Proxies) ClientAddr(r *http.Request) string {
	host := hostOf(r.RemoteAddr)
	addr, err := netip.ParseAddr(host)
	if err != nil || len(p) == 0 {
		return host
	}
	addr = addr.Unmap().WithZone("")
	if !p.trusted(addr) {
		return addr.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(hops[i])
		if err != nil {
			break // not an address: nothing left of it is trusted
		}
		addr = hop.Unmap().WithZone("")
		if !p.trusted(addr) {
			return addr.String()
		}
	}
	return addr.String()
}

// Wrap serves next with each request's RemoteAddr set to its client
// (ClientAddr), so that the throttle (Client), the audit log and the logs
// all see the client, not the proxy. Without proxies it is next.
func (p Proxies) Wrap(next http.Handler) http.Handler {
	if len(p) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := p.ClientAddr(r)
		if client != hostOf(r.RemoteAddr) {
			r2 := *r
			r2.RemoteAddr = net.JoinHostPort(client, "0")
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}

// Addr is the client address of r for the audit log and the throttle:
// RemoteAddr's host (the client, when Proxies.Wrap is in front).
func Addr(r *http.Request) string { return hostOf(r.RemoteAddr) }

func hostOf(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}
