// Package retry is the hub's one exponential backoff: the redelivery of a
// nacked message (bus), the next poll after a failed one (poll) and the
// restart of a crashed plugin (pluginhost) all wait Backoff, some of them
// spread with Jitter.
//
// Not github.com/cenkalti/backoff (which Watermill's Retry middleware uses
// for the in-handler retries): its ExponentialBackOff is a stateful
// sequence that NextBackOff advances, while each of the hub's callers knows
// the attempt number and needs the wait for it: the poll schedule keeps an
// app's failures in the state database, so the sequence continues across
// restarts and hubs; the subscriber counts attempts per message.
package retry

import (
	"math/rand/v2"
	"time"
)

// Backoff is the wait before attempt (1 for the first retry): initial,
// doubled for each attempt after the first, never more than maxWait.
func Backoff(initial, maxWait time.Duration, attempt int) time.Duration {
	d := initial
	for i := 1; i < attempt && d < maxWait; i++ {
		if d > maxWait/2 {
			d = maxWait // doubling would pass maxWait (or overflow)
			break
		}
		d *= 2
	}
	return min(d, maxWait)
}

// Jitter spreads d uniformly over [d·(1-factor), d·(1+factor)), so that
// waits that started together do not end together.
func Jitter(d time.Duration, factor float64) time.Duration {
	return time.Duration(float64(d) * (1 - factor + 2*factor*rand.Float64()))
}
