package poll

import (
	"log/slog"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

func TestFitInterval(t *testing.T) {
	week := 7 * 24 * time.Hour
	for _, tc := range []struct {
		interval time.Duration
		caps     sdk.StoreCapabilities
		want     time.Duration
	}{
		{5 * time.Minute, sdk.StoreCapabilities{}, 5 * time.Minute},
		{5 * time.Minute, sdk.StoreCapabilities{ListingWindow: week}, 5 * time.Minute},
		{week, sdk.StoreCapabilities{ListingWindow: week}, week / 4},
		{time.Second, sdk.StoreCapabilities{MinPollInterval: time.Minute}, time.Second}, // warned, kept
	} {
		if got := fitInterval(slog.New(slog.DiscardHandler), tc.interval, tc.caps); got != tc.want {
			t.Errorf("fitInterval(%v, %+v) = %v, want %v", tc.interval, tc.caps, got, tc.want)
		}
	}
}
