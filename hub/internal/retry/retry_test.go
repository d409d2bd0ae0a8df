package retry

import (
	"math"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		initial, maxWait time.Duration
		attempt          int
		want             time.Duration
	}{
		{time.Second, time.Minute, 0, time.Second},
		{time.Second, time.Minute, 1, time.Second},
		{time.Second, time.Minute, 2, 2 * time.Second},
		{time.Second, time.Minute, 6, 32 * time.Second},
		{time.Second, time.Minute, 7, time.Minute},
		{time.Second, time.Minute, 1000, time.Minute},
		{time.Minute, time.Second, 1, time.Second},       // initial above the cap
		{time.Second, math.MaxInt64, 100, math.MaxInt64}, // no overflow
		{200 * time.Millisecond, 30 * time.Second, 8, 25600 * time.Millisecond},
	} {
		if got := Backoff(tc.initial, tc.maxWait, tc.attempt); got != tc.want {
			t.Errorf("Backoff(%v, %v, %d) = %v, want %v", tc.initial, tc.maxWait, tc.attempt, got, tc.want)
		}
	}
}

func TestJitterStaysInItsBand(t *testing.T) {
	d := 10 * time.Second
	low, high := false, false
	for range 1000 {
		got := Jitter(d, 0.2)
		if got < 8*time.Second || got >= 12*time.Second {
			t.Fatalf("Jitter(%v, 0.2) = %v, outside [8s, 12s)", d, got)
		}
		low = low || got < d
		high = high || got > d
	}
	if !low || !high {
		t.Error("1000 jittered waits all on one side of the wait")
	}
	if got := Jitter(d, 0); got != d {
		t.Errorf("no jitter: %v, want %v", got, d)
	}
}
