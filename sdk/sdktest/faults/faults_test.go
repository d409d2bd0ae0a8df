package faults

import (
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	var f Faults
	f.Fail(1, 503)
	f.RateLimit(1, 5*time.Second)
	if ft, ok := f.Next(); !ok || !ft.RateLimited || ft.RetryAfter != 5*time.Second {
		t.Errorf("first: %+v %v", ft, ok)
	}
	if ft, ok := f.Next(); !ok || ft.Status != 503 {
		t.Errorf("second: %+v %v", ft, ok)
	}
	if _, ok := f.Next(); ok || f.Calls() != 3 {
		t.Errorf("third: %v, %d calls", ok, f.Calls())
	}
}

func TestPending(t *testing.T) {
	var f Faults
	f.Fail(2, 500)
	f.RateLimit(1, 0)
	if n := f.Pending(); n != 3 {
		t.Fatalf("Pending %d, want 3", n)
	}
	f.Next()
	f.Next()
	if n := f.Pending(); n != 1 {
		t.Fatalf("after two calls Pending %d, want 1", n)
	}
}
