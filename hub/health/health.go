// Package health computes each app's health from the state (the last
// successful poll, the kind of the last error, the schedule's note) and
// sends alerts when an app turns bad and when it recovers. Nothing here is
// a second source of truth: the state (hub/state app_health and
// poll_schedule) holds the facts; the computed state and the alert
// bookkeeping are written back so that "since when" and the cooldown
// survive restarts and are shared by every hub.
package health

import (
	"fmt"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// States, worst first (for sorting and the metric).
var States = []string{sdk.HealthAtRisk, sdk.HealthCredentials, sdk.HealthStalled, sdk.HealthFailing, sdk.HealthQuota,
	sdk.HealthDegraded, sdk.HealthOK}

// StalledAfter is how many intervals without a successful poll make an
// app stalled.
const StalledAfter = 3

// RetriedAfter is how many failed delivery attempts in a row make an app
// degraded (fewer are a blip the bus's retries absorb).
const RetriedAfter = 3

// Bad reports whether a state is alerted on. Degraded (retrying) and
// quota (waiting on the store) mend themselves; one that lasts becomes
// stalled, which is alerted. Failing (deliveries failed for good) waits for
// a person.
func Bad(h string) bool {
	switch h {
	case sdk.HealthStalled, sdk.HealthCredentials, sdk.HealthAtRisk, sdk.HealthFailing:
		return true
	}
	return false
}

// Status is an app's computed health.
type Status struct {
	Health string
	Reason string
	// Since is when the app entered this state, when the facts tell
	// (zero: from the state's memory of the last change).
	Since time.Time
}

// Compute derives an app's health at now from its facts. interval is the
// app's poll interval (after quota budgets); window is the store's listing
// window (0: unlimited). An app at risk of loss is one whose last success
// is older than the window less two days (Google Play: 5 of its 7 days),
// so the reviews of those days fall out of the listing if it stays so.
func Compute(r state.HealthRow, interval, window time.Duration, now time.Time) Status {
	ref := r.LastOK
	if ref.IsZero() {
		ref = r.FirstSeen
	}
	quiet := now.Sub(ref)
	if window > 0 && !ref.IsZero() {
		risk := max(window-48*time.Hour, window*5/7)
		if quiet > risk {
			what := "last successful poll"
			if r.LastOK.IsZero() {
				what = "no successful poll since the app was added"
			}
			return Status{Health: sdk.HealthAtRisk, Since: ref.Add(risk),
				Reason: fmt.Sprintf("%s %s ago; the store lists only the last %s: reviews older than that are lost%s",
					what, round(quiet), round(window), errSuffix(r))}
		}
	}
	kind := r.ErrorKind
	if kind == sdk.ErrorKindUnauthenticated.String() || kind == sdk.ErrorKindPermissionDenied.String() {
		return Status{Health: sdk.HealthCredentials, Since: r.FailingSince,
			Reason: "the store refused the app's credentials (" + kind + "): " + r.Error}
	}
	if interval > 0 && !ref.IsZero() && quiet > StalledAfter*interval {
		why := "no successful poll for " + round(quiet) + fmt.Sprintf(" (%d intervals of %s)", int(quiet/interval), round(interval))
		if r.Note != "" {
			why += "; " + r.Note
		}
		return Status{Health: sdk.HealthStalled, Since: ref.Add(StalledAfter * interval), Reason: why + errSuffix(r)}
	}
	if st, ok := failing(r.Delivery); ok {
		return st
	}
	if r.Check.Status == sdk.CheckFail {
		return Status{Health: sdk.HealthFailing, Since: r.Check.Since,
			Reason: "the connection check fails: " + r.Check.Problem + "; fix it, then save or check the integration again"}
	}
	if r.Wait != "" || kind == sdk.ErrorKindRateLimited.String() {
		reason := r.Note
		if reason == "" {
			reason = "the store is rate limiting: " + r.Error
		}
		return Status{Health: sdk.HealthQuota, Reason: reason}
	}
	if kind != "" || r.Failures > 0 {
		return Status{Health: sdk.HealthDegraded, Since: r.FailingSince,
			Reason: fmt.Sprintf("retrying after %d failed polls: %s", max(r.Failures, 1), r.Error)}
	}
	if st, ok := degradedDelivery(r.Delivery); ok {
		return st
	}
	if r.Check.Status == sdk.CheckWarn {
		return Status{Health: sdk.HealthDegraded, Since: r.Check.Since, Reason: "the connection check warns: " + r.Check.Problem}
	}
	return Status{Health: sdk.HealthOK}
}

// failing is the state of an app whose deliveries fail for good: the last
// review delivery that ended went to the dead letters (and some of the
// app's are still there), or the last answer that ended failed. Both wait
// for a person: a later delivery that succeeds, or the app's dead letters
// retried or dropped, end it.
func failing(f state.DeliveryFacts) (Status, bool) {
	if f.Failing() && f.DeadLetters > 0 {
		return Status{Health: sdk.HealthFailing, Since: f.FailingSince,
			Reason: fmt.Sprintf("the helpdesk refused %s for good: %s; fix the cause, then retry or drop the dead letters",
				plural(f.DeadLetters, "review", "reviews"), f.Error)}, true
	}
	if f.AnswersFailing() {
		return Status{Health: sdk.HealthFailing, Since: f.AnswerFailed,
			Reason: "the last answer could not be published in the store: " + f.AnswerError}, true
	}
	return Status{}, false
}

// degradedDelivery is the state of an app with reviews whose queued
// message was lost (waiting to be listed again), whose review deliveries
// are being retried (RetriedAfter failures in a row), or that still has
// dead letters after a later delivery succeeded.
func degradedDelivery(f state.DeliveryFacts) (Status, bool) {
	if f.Lost > 0 {
		return Status{Health: sdk.HealthDegraded,
			Reason: fmt.Sprintf("%s lost the message that queued %s for the helpdesk (the hub's log names them); "+
				"each is queued again when the store lists it next", plural(f.Lost, "review", "reviews"), pronoun(f.Lost))}, true
	}
	if f.Failures >= RetriedAfter && !f.Failing() {
		return Status{Health: sdk.HealthDegraded, Since: f.FailingSince,
			Reason: fmt.Sprintf("delivering reviews to the helpdesk failed %d times in a row, retrying: %s", f.Failures, f.Error)}, true
	}
	if f.DeadLetters > 0 {
		return Status{Health: sdk.HealthDegraded,
			Reason: fmt.Sprintf("%s in the dead letters: retry or drop them", plural(f.DeadLetters, "review is", "reviews are"))}, true
	}
	return Status{}, false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func errSuffix(r state.HealthRow) string {
	if r.Error == "" {
		return ""
	}
	return "; last error: " + r.Error
}

func round(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	case d >= time.Minute:
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}
