// Package faults is the fault switchboard of a fake vendor API: tests make
// the next calls fail with a status or a rate limit and count the calls.
// The project's fakes (plugins/*/fake) embed it; a third-party plugin's
// fake can too.
package faults

import (
	"sync"
	"time"
)

// Fault is how the next call must be answered.
type Fault struct {
	// RateLimited: answer 429 (the vendor's form) with RetryAfter.
	RateLimited bool
	RetryAfter  time.Duration
	// Status to answer otherwise (5xx, 4xx).
	Status int
}

// Faults counts calls and hands out the faults asked for. Safe for
// concurrent use; the zero value is ready.
//
// Embedding it is half the work: the fake's handler must call Next once
// per request and answer the fault it returns, or no call is counted and
// no fault applied:
//
//	func (s *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
//		if f, ok := s.Next(); ok {
//			if f.RateLimited {
//				w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Seconds())))
//			}
//			http.Error(w, "injected fault", f.Status)
//			return
//		}
//		s.mux.ServeHTTP(w, r) // the fake's own routes
//	}
type Faults struct {
	mu         sync.Mutex
	calls      int
	failN      int
	failStatus int
	limitN     int
	retryAfter time.Duration
}

// Fail makes the next n calls answer status.
func (f *Faults) Fail(n, status int) {
	f.mu.Lock()
	f.failN, f.failStatus = n, status
	f.mu.Unlock()
}

// RateLimit makes the next n calls answer 429 with retryAfter (0: no Retry-After).
func (f *Faults) RateLimit(n int, retryAfter time.Duration) {
	f.mu.Lock()
	f.limitN, f.retryAfter = n, retryAfter
	f.mu.Unlock()
}

// Calls is the number of calls counted so far.
func (f *Faults) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Pending is the number of injected faults (Fail and RateLimit) not yet
// handed out by Next. The conformance kit reads it to tell a fake whose
// handler never calls Next (a broken vendor view) from a plugin that
// swallows the vendor's errors.
func (f *Faults) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failN + f.limitN
}

// Next counts a call and returns the fault to answer it with; ok is false
// when the call must be served normally. Rate limits come first.
func (f *Faults) Next() (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	switch {
	case f.limitN > 0:
		f.limitN--
		return Fault{RateLimited: true, RetryAfter: f.retryAfter, Status: 429}, true
	case f.failN > 0:
		f.failN--
		return Fault{Status: f.failStatus}, true
	}
	return Fault{}, false
}
