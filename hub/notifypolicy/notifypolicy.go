// Package notifypolicy decides, for one chat destination, what to post
// now and what to hold: at most N messages an hour (the rest held for a
// digest), quiet hours (everything held until they end, but for the event
// types allowed through), and when to come back to post the digest. It is
// pure: the caller passes the destination's policy, its persisted State,
// the event and the time, and stores the State it gets back. It holds no
// clock, no storage and no wiring (issue 29's routing uses it).
package notifypolicy

import (
	"fmt"
	"slices"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// Window is the throttling window of Policy.MaxPerHour.
const Window = time.Hour

// Policy is a destination's throttling and quiet hours.
type Policy struct {
	// MaxPerHour bounds the messages posted in any hour (a digest is one);
	// 0: no bound.
	MaxPerHour int
	// Quiet, when set, holds every event inside its hours for a digest
	// posted when they end.
	Quiet *QuietHours
	// Urgent event types are posted in quiet hours too (a spike, say);
	// they still count against MaxPerHour.
	Urgent []sdk.EventType
}

// QuietHours are a daily span of local time, [Start, End), which may run
// over midnight (22:00–07:00). Start equal to End is no quiet hours.
type QuietHours struct {
	Start, End time.Duration // since local midnight
	Location   *time.Location
}

// ParseQuietHours reads "22:00-07:00" in the named time zone ("" is UTC).
func ParseQuietHours(span, zone string) (*QuietHours, error) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("quiet hours: time zone %q: %w", zone, err)
	}
	var h1, m1, h2, m2 int
	if n, err := fmt.Sscanf(span, "%d:%d-%d:%d", &h1, &m1, &h2, &m2); err != nil || n != 4 ||
		h1 < 0 || h1 > 23 || h2 < 0 || h2 > 24 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59 || (h2 == 24 && m2 != 0) {
		return nil, fmt.Errorf("quiet hours %q: want HH:MM-HH:MM, e.g. 22:00-07:00", span)
	}
	return &QuietHours{Start: time.Duration(h1)*time.Hour + time.Duration(m1)*time.Minute,
		End: time.Duration(h2)*time.Hour + time.Duration(m2)*time.Minute, Location: loc}, nil
}

func (q *QuietHours) loc() *time.Location {
	if q.Location == nil {
		return time.UTC
	}
	return q.Location
}

// midnight is the local midnight starting t's day.
func (q *QuietHours) midnight(t time.Time) time.Time {
	l := t.In(q.loc())
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, q.loc())
}

// Contains reports whether t lies in the quiet hours.
func (q *QuietHours) Contains(t time.Time) bool {
	if q == nil || q.Start == q.End {
		return false
	}
	l := t.In(q.loc())
	since := time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute +
		time.Duration(l.Second())*time.Second + time.Duration(l.Nanosecond())
	if q.Start < q.End {
		return since >= q.Start && since < q.End
	}
	return since >= q.Start || since < q.End
}

// EndAfter is when the quiet hours that hold t end (t itself when t is
// not in them).
func (q *QuietHours) EndAfter(t time.Time) time.Time {
	if !q.Contains(t) {
		return t
	}
	end := q.midnight(t).Add(q.End)
	if !end.After(t) {
		end = q.midnight(t).AddDate(0, 0, 1).Add(q.End)
	}
	return end
}

// State is what the caller keeps per destination between calls.
type State struct {
	// Sent are the times of the messages posted within the last Window.
	Sent []time.Time
	// Held are the events waiting for a digest, oldest first.
	Held []sdk.Event
}

// Decision says what to post now and when to come back.
type Decision struct {
	// Post are the messages to post now, in order: an event as it came,
	// or a digest (sdk.EventDigest) of the held events.
	Post []sdk.Event
	// Held: the event was held for a digest (nothing is dropped).
	Held bool
	// Next is when to call Flush to post what is held; zero when nothing is.
	Next time.Time
	// State replaces the destination's State.
	State State
}

// Decide takes one event at now: a held digest first when it may be
// posted, then the event, or the event held when the destination is in
// its quiet hours or over MaxPerHour.
func Decide(p Policy, st State, e sdk.Event, now time.Time) Decision {
	st = prune(st, now)
	var d Decision
	quiet := p.Quiet.Contains(now)
	if !quiet && len(st.Held) > 0 && room(p, st) {
		d.Post, st = append(d.Post, digest(st.Held, now)), posted(st, now)
		st.Held = nil
	}
	switch {
	case quiet && !slices.Contains(p.Urgent, e.Type), !room(p, st):
		st.Held = append(st.Held, flatten(e)...)
		d.Held = true
	default:
		d.Post, st = append(d.Post, e), posted(st, now)
	}
	d.State, d.Next = st, next(p, st, now)
	return d
}

// Flush posts the held events as one digest when the quiet hours are over
// and the hour has room; call it at Decision.Next.
func Flush(p Policy, st State, now time.Time) Decision {
	st = prune(st, now)
	var d Decision
	if len(st.Held) > 0 && !p.Quiet.Contains(now) && room(p, st) {
		d.Post, st = append(d.Post, digest(st.Held, now)), posted(st, now)
		st.Held = nil
	}
	d.State, d.Next = st, next(p, st, now)
	return d
}

// digest is one event holding the held ones; a single held event is
// posted as itself.
func digest(held []sdk.Event, now time.Time) sdk.Event {
	if len(held) == 1 {
		return held[0]
	}
	return sdk.Event{ID: "digest-" + held[0].ID + "-" + held[len(held)-1].ID, Type: sdk.EventDigest, At: now,
		Events: slices.Clone(held)}
}

// flatten holds a digest's events one by one (a digest in a digest says nothing more).
func flatten(e sdk.Event) []sdk.Event {
	if e.Type == sdk.EventDigest {
		return e.Events
	}
	return []sdk.Event{e}
}

func room(p Policy, st State) bool { return p.MaxPerHour <= 0 || len(st.Sent) < p.MaxPerHour }

func posted(st State, now time.Time) State {
	st.Sent = append(slices.Clone(st.Sent), now)
	return st
}

// prune drops the sends older than Window.
func prune(st State, now time.Time) State {
	var keep []time.Time
	for _, t := range st.Sent {
		if now.Sub(t) < Window {
			keep = append(keep, t)
		}
	}
	st.Sent = keep
	return st
}

// next is when what is held may be posted: after the quiet hours, and once
// the oldest send in the window has left it.
func next(p Policy, st State, now time.Time) time.Time {
	if len(st.Held) == 0 {
		return time.Time{}
	}
	at := now
	for range 3 { // leaving the quiet hours may wait for room, and room may fall into the next quiet hours
		at = p.Quiet.EndAfter(at)
		if p.MaxPerHour > 0 && len(st.Sent) >= p.MaxPerHour {
			// The send that frees a slot by at: the (len-Max)th oldest.
			free := st.Sent[len(st.Sent)-p.MaxPerHour].Add(Window)
			if free.After(at) {
				at = free
			}
		}
		if !p.Quiet.Contains(at) {
			break
		}
	}
	return at
}
