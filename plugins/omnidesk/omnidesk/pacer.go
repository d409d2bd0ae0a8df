package omnidesk

import (
	"time"
)

// Pacing by api_calls_left. Every Omnidesk answer says how many calls the
// account has left in its per-minute limit (README: rate_limit_per_minute,
// api_calls_left). The gate keeps, per account, the latest such figure and
// the plugin's calls around it, and lets a call out only while the figure,
// less the calls Omnidesk may not have counted in it yet, is above zero.
// With several calls in flight this keeps under the limit instead of
// learning it from 429s.
//
// Room comes back only as a figure shows it, never by the gate's own
// reckoning of when calls leave the window: whether Omnidesk's minute is
// a sliding window or a calendar minute is not documented, and the two
// free room at different moments. When the figure is spent and no call is
// in flight, one call (a probe) goes out at the first moment room may have
// come back: one window after the answer to the earliest call the figure
// still counted (a sliding window frees its room then; a calendar minute
// sooner). The probe's answer is a fresh figure; under a calendar minute
// that has not turned yet it is a 429, whose retry_after then holds the
// account (RateGate.hold) until the turn. So a sliding window sees no 429
// from the plugin's own calls and a calendar minute at most one a minute;
// other users of the same API key show in the next figure.
//
// A figure is conservative on purpose: a call sent after the one whose
// answer gave it, or answered after that one was sent, counts as spent
// (Omnidesk may have counted it only later).

// DefaultRateWindow is the window of Omnidesk's limits (per minute).
const DefaultRateWindow = time.Minute

// maxPaceHold is the longest a call waits inside the plugin for room; a
// longer wait fails the call at once with a retry-after of that wait,
// before anything is sent (the hub then holds the integration), so no
// call sits for most of a minute in a plugin call.
const maxPaceHold = 2 * time.Second

// pollInFlight is how often a call held only by answers still to come
// looks again.
const pollInFlight = 20 * time.Millisecond

// probeShare of the window is how long a probe waits when no call of the
// plugin's will leave the window (the figure is others' use).
const probeShare = 30

type pacedCall struct {
	seq        uint64
	sentAt     time.Time
	answeredAt time.Time // zero while in flight
	inFlight   int       // the plugin's calls in flight when it was sent
}

// pace is one account's pacing state (under RateGate.mu).
type pace struct {
	seq   uint64
	calls []*pacedCall // the plugin's recent calls, in seq order

	known      bool // an answer carried api_calls_left
	left       int  // its api_calls_left
	leftSeq    uint64
	leftSentAt time.Time // when that call was sent
	leftAt     time.Time // when its answer arrived
	probeAt    time.Time // no probe before (set when one goes out)
	inFlight   int       // calls in flight now
	leftWith   int       // calls in flight when the figure's call was sent
}

// surely is a lower bound of estimate's calls left, without looking at
// every call: the calls sent after the figure's one, and all those in
// flight when it was sent, count as spent.
func (p *pace) surely() int {
	return p.left - int(p.seq-p.leftSeq) - p.leftWith
}

// uncounted: Omnidesk may not have counted c when it gave the figure.
func (p *pace) uncounted(c *pacedCall) bool {
	return c.seq > p.leftSeq || (c.seq < p.leftSeq && (c.answeredAt.IsZero() || c.answeredAt.After(p.leftSentAt)))
}

// estimate is the calls left now by the figure, whether calls are in
// flight (their answers bring fresher figures) and, for a spent figure,
// the first moment room may have come back.
func (p *pace) estimate(window time.Duration) (left int, inFlight bool, room time.Time) {
	left = p.left
	for _, c := range p.calls {
		if c.answeredAt.IsZero() {
			inFlight = true
		}
		if p.uncounted(c) {
			left--
			continue
		}
		// Counted in the figure: gone from a sliding window one window
		// after Omnidesk counted it, at the latest after its answer.
		if !c.answeredAt.IsZero() && c.sentAt.Add(window).After(p.leftAt) {
			if free := c.answeredAt.Add(window); room.IsZero() || free.Before(room) {
				room = free
			}
		}
	}
	if room.IsZero() {
		room = p.leftAt.Add(window / probeShare)
	}
	return left, inFlight, room
}

// prune drops the oldest calls while they change nothing any more:
// counted in the figure and sent a window or more before it.
// Without a figure, answered calls change nothing.
func (p *pace) prune(window time.Duration) {
	n := 0
	for _, c := range p.calls {
		if c.answeredAt.IsZero() || (p.known && (p.uncounted(c) || c.sentAt.Add(window).After(p.leftAt))) {
			break
		}
		n++
	}
	if n > 0 {
		clear(p.calls[:n])
		p.calls = p.calls[n:]
	}
}

// pace lets a call to account out now (ok, with its number for answered)
// or says how long to wait before asking again.
func (g *RateGate) pace(account string, window time.Duration, now time.Time) (seq uint64, wait time.Duration, ok bool) {
	if g == nil {
		return 0, 0, true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.paces == nil {
		g.paces = map[string]*pace{}
	}
	p := g.paces[account]
	if p == nil {
		p = &pace{}
		g.paces[account] = p
	}
	if p.known && p.surely() <= 0 {
		left, inFlight, room := p.estimate(window)
		switch {
		case left > 0:
		case inFlight:
			return 0, pollInFlight, false
		case now.Before(room):
			return 0, room.Sub(now), false
		case now.Before(p.probeAt):
			return 0, p.probeAt.Sub(now), false
		default:
			// The probe: in flight until answered, so no second one.
			p.probeAt = now.Add(window / probeShare)
		}
	}
	p.seq++
	p.calls = append(p.calls, &pacedCall{seq: p.seq, sentAt: now, inFlight: p.inFlight})
	p.inFlight++
	return p.seq, 0, true
}

// answered records the answer to call seq and the api_calls_left it
// carried (left < 0: none, or no answer).
func (g *RateGate) answered(account string, window time.Duration, seq uint64, left int, now time.Time) {
	if g == nil || seq == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.paces[account]
	if p == nil {
		return
	}
	var call *pacedCall
	for i := len(p.calls) - 1; i >= 0; i-- { // recent calls are answered first
		if p.calls[i].seq == seq {
			call = p.calls[i]
			break
		}
	}
	if call == nil || !call.answeredAt.IsZero() {
		return
	}
	call.answeredAt = now
	p.inFlight--
	if left >= 0 && (!p.known || seq > p.leftSeq) {
		p.known, p.left, p.leftSeq, p.leftSentAt, p.leftAt, p.leftWith = true, left, seq, call.sentAt, now, call.inFlight
	}
	p.prune(window)
}
