package throttle

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func mustProxies(t *testing.T, ss ...string) Proxies {
	t.Helper()
	var p Proxies
	for _, s := range ss {
		pre, err := netip.ParsePrefix(s)
		if err != nil {
			t.Fatal(err)
		}
		p = append(p, pre)
	}
	return p
}

// The client behind trusted proxies is the right-most forwarded address
// not a proxy; anyone else's X-Forwarded-For is ignored (M4).
func TestClientAddrBehindTrustedProxies(t *testing.T) {
	p := mustProxies(t, "10.0.0.0/8", "2001:db8:1::/48")
	for _, c := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"untrusted remote spoofing", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"untrusted remote spoofing a proxy", "203.0.113.9:5000", []string{"10.0.0.1"}, "203.0.113.9"},
		{"trusted proxy", "10.0.0.2:443", []string{"198.51.100.7"}, "198.51.100.7"},
		{"client-written entries left of the real one", "10.0.0.2:443", []string{"1.2.3.4, 5.6.7.8, 198.51.100.7"}, "198.51.100.7"},
		{"a chain of proxies", "10.0.0.2:443", []string{"198.51.100.7, 10.1.1.1"}, "198.51.100.7"},
		{"spoofed proxy address left of the client", "10.0.0.2:443", []string{"10.9.9.9, 198.51.100.7"}, "198.51.100.7"},
		{"several headers", "10.0.0.2:443", []string{"1.2.3.4", "198.51.100.7"}, "198.51.100.7"},
		{"garbage stops at the last trusted hop", "10.0.0.2:443", []string{"198.51.100.7, not-an-ip, 10.1.1.1"}, "10.1.1.1"},
		{"no header", "10.0.0.2:443", nil, "10.0.0.2"},
		{"only proxies", "10.0.0.2:443", []string{"10.3.3.3, 10.1.1.1"}, "10.3.3.3"},
		{"IPv6 proxy", "[2001:db8:1::5]:443", []string{"2001:db8:2::9"}, "2001:db8:2::9"},
		{"IPv4-mapped proxy", "[::ffff:10.0.0.2]:443", []string{"198.51.100.7"}, "198.51.100.7"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := p.ClientAddr(r); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.2:443"
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	if got := Proxies(nil).ClientAddr(r); got != "10.0.0.2" {
		t.Errorf("no trusted proxies: %q, want the connection's address", got)
	}
}

// Wrap puts the client in RemoteAddr: Client and Addr see it, and a
// spoofing client gets nothing from the header (M4).
func TestWrapFeedsClientAndAddr(t *testing.T) {
	p := mustProxies(t, "10.0.0.0/8")
	var client, addr string
	h := p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { client, addr = Client(r), Addr(r) }))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.2:443"
	r.Header.Set("X-Forwarded-For", "2001:db8:5:6:7::1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if client != "2001:db8:5:6::/64" || addr != "2001:db8:5:6:7::1" {
		t.Errorf("behind the proxy: client %q addr %q", client, addr)
	}
	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "203.0.113.9:5000"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	if client != "203.0.113.9" || addr != "203.0.113.9" {
		t.Errorf("a spoofing client: client %q addr %q", client, addr)
	}
}
