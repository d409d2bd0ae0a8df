package notifypolicy

import (
	"fmt"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

func ev(i int, typ sdk.EventType) sdk.Event {
	return sdk.Event{ID: fmt.Sprint(i), Type: typ}
}

var t0 = time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)

// At most N an hour: the rest is held and posted as one digest when the
// oldest send leaves the hour; nothing is lost.
func TestNotifierPolicyThrottlesIntoADigest(t *testing.T) {
	p := Policy{MaxPerHour: 2}
	var st State
	var posted []sdk.Event
	for i := range 5 {
		d := Decide(p, st, ev(i, sdk.EventReviewCreated), t0.Add(time.Duration(i)*time.Minute))
		st, posted = d.State, append(posted, d.Post...)
		if (i >= 2) != d.Held {
			t.Fatalf("event %d: held %v", i, d.Held)
		}
		if i >= 2 && !d.Next.Equal(t0.Add(time.Hour)) {
			t.Fatalf("event %d: next %s, want when the first send leaves the hour", i, d.Next)
		}
	}
	if len(posted) != 2 || len(st.Held) != 3 {
		t.Fatalf("posted %d, held %d", len(posted), len(st.Held))
	}
	if d := Flush(p, st, t0.Add(59*time.Minute)); len(d.Post) != 0 {
		t.Fatalf("flushed before the hour had room: %+v", d.Post)
	}
	d := Flush(p, st, t0.Add(time.Hour))
	if len(d.Post) != 1 || d.Post[0].Type != sdk.EventDigest || len(d.Post[0].Events) != 3 || d.Post[0].Events[0].ID != "2" ||
		len(d.State.Held) != 0 || !d.Next.IsZero() {
		t.Fatalf("flush: %+v", d)
	}
	// The digest counts: the hour holds the send at 12:01 and the digest,
	// so the next event waits until 13:01.
	d2 := Decide(p, d.State, ev(9, sdk.EventReviewCreated), t0.Add(time.Hour+30*time.Second))
	if !d2.Held || !d2.Next.Equal(t0.Add(time.Hour+time.Minute)) {
		t.Fatalf("the hour was full: %+v", d2)
	}
	if d3 := Flush(p, d2.State, t0.Add(time.Hour+time.Minute)); len(d3.Post) != 1 || d3.Post[0].ID != "9" {
		t.Fatalf("at 13:01: %+v", d3.Post)
	}
}

// A held digest goes out before the next event when the hour has room.
func TestNotifierPolicyDigestBeforeTheNextEvent(t *testing.T) {
	p := Policy{MaxPerHour: 1}
	d := Decide(p, State{}, ev(1, sdk.EventReviewCreated), t0)
	d = Decide(p, d.State, ev(2, sdk.EventReviewCreated), t0.Add(time.Minute))
	d = Decide(p, d.State, ev(3, sdk.EventReviewCreated), t0.Add(time.Minute+time.Second))
	d = Decide(Policy{MaxPerHour: 3}, d.State, ev(4, sdk.EventReplyPublished), t0.Add(2*time.Minute))
	if len(d.Post) != 2 || d.Post[0].Type != sdk.EventDigest || len(d.Post[0].Events) != 2 || d.Post[0].Events[1].ID != "3" || d.Post[1].ID != "4" {
		t.Fatalf("post %+v", d.Post)
	}
}

// Quiet hours over midnight, in the destination's zone: held until they
// end, urgent types through; one held event is posted as itself.
func TestNotifierPolicyQuietHours(t *testing.T) {
	q, err := ParseQuietHours("22:00-07:00", "Europe/Moscow") // UTC+3
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{Quiet: q, Urgent: []sdk.EventType{sdk.EventSpike}}
	night := time.Date(2026, 12, 8, 20, 30, 0, 0, time.UTC) // 23:30 in Moscow
	d := Decide(p, State{}, ev(1, sdk.EventReviewCreated), night)
	morning := time.Date(2026, 12, 9, 4, 0, 0, 0, time.UTC) // 07:00 in Moscow
	if !d.Held || !d.Next.Equal(morning) {
		t.Fatalf("night: held %v next %s, want %s", d.Held, d.Next, morning)
	}
	spike := Decide(p, d.State, ev(2, sdk.EventSpike), night.Add(time.Hour))
	if spike.Held || len(spike.Post) != 1 || spike.Post[0].ID != "2" {
		t.Fatalf("urgent spike: %+v", spike)
	}
	if f := Flush(p, spike.State, morning.Add(-time.Second)); len(f.Post) != 0 {
		t.Fatalf("flushed in quiet hours")
	}
	f := Flush(p, spike.State, morning)
	if len(f.Post) != 1 || f.Post[0].ID != "1" || f.Post[0].Type != sdk.EventReviewCreated {
		t.Fatalf("morning: %+v", f.Post)
	}
	noon := time.Date(2026, 12, 9, 9, 0, 0, 0, time.UTC)
	if q.Contains(noon) || !q.Contains(night) || !q.Contains(morning.Add(-time.Minute)) {
		t.Error("Contains")
	}
}

// Quiet hours and throttling together: after the quiet hours the digest
// waits for room; a digest sent in is held event by event.
func TestNotifierPolicyQuietAndThrottle(t *testing.T) {
	q, _ := ParseQuietHours("00:00-06:00", "")
	p := Policy{MaxPerHour: 1, Quiet: q}
	st := State{Sent: []time.Time{time.Date(2026, 12, 8, 5, 30, 0, 0, time.UTC)}}
	d := Decide(p, st, sdk.Event{ID: "d", Type: sdk.EventDigest, Events: []sdk.Event{ev(1, sdk.EventReviewCreated), ev(2, sdk.EventReviewUpdated)}},
		time.Date(2026, 12, 8, 5, 45, 0, 0, time.UTC))
	if !d.Held || len(d.State.Held) != 2 || !d.Next.Equal(time.Date(2026, 12, 8, 6, 30, 0, 0, time.UTC)) {
		t.Fatalf("held %v %d next %s", d.Held, len(d.State.Held), d.Next)
	}
}

func TestNotifierPolicyParseQuietHours(t *testing.T) {
	for _, bad := range []string{"", "22-07", "25:00-07:00", "22:00-07:60", "22:00"} {
		if _, err := ParseQuietHours(bad, ""); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseQuietHours("22:00-07:00", "Mars/Olympus"); err == nil {
		t.Error("unknown zone accepted")
	}
	q, err := ParseQuietHours("09:00-09:00", "")
	if err != nil || q.Contains(t0) {
		t.Errorf("equal start and end is no quiet hours: %v", err)
	}
}
