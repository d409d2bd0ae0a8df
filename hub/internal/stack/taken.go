package stack

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// TakenAddr is a loopback address another HTTP server answers on for the
// rest of the test (as when `make run` still runs): what a hub or a demo
// started there must refuse.
func TakenAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), ReadHeaderTimeout: time.Second}
	go func() { _ = other.Serve(ln) }()
	t.Cleanup(func() { other.Close() })
	return ln.Addr().String()
}
