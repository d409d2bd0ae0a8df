// Package throttle limits failed attempts (wrong sign-ins, wrong bearer
// tokens) per client, so guessing a secret stays slow and one client's
// failures never lock out another; and per account (Accounts, in
// accounts.go), so many clients guessing together stay slow too, without
// refusing the clients that signed in to the account before.
//
// A client that fails Failures times within Window from its first failure
// is refused until that window ends. The table is bounded: windows that
// have ended are dropped, and past MaxKeys clients the oldest window that
// is not blocked (and not pinned) goes first: a flood of new keys can
// neither grow memory nor lock anyone out, and it cannot wipe out a
// blocked key's count to give it a fresh allowance. When every entry is
// blocked or pinned, a new key's failure is not remembered (its failures
// still count against its account, Accounts).
package throttle

import (
	"container/list"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Defaults.
const (
	DefaultFailures = 10
	DefaultWindow   = time.Minute
	DefaultMaxKeys  = 10000
)

// Options configure a Limiter; zero values take the defaults.
type Options struct {
	// Failures a client may make within Window before it is refused.
	Failures int
	// Window starts at a client's first failure.
	Window time.Duration
	// MaxKeys bounds the number of clients remembered.
	MaxKeys int
	// Pinned keys are never evicted to make room (only their window's
	// end drops them); they come on top of MaxKeys.
	Pinned []string
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// Limiter counts failures per key. It is safe for concurrent use.
type Limiter struct {
	o       Options
	pinned  map[string]bool
	mu      sync.Mutex
	entries map[string]*list.Element
	// order holds *entry by window start, oldest at the front.
	order *list.List
}

type entry struct {
	key   string
	start time.Time
	count int
}

// New returns a Limiter.
func New(o Options) *Limiter {
	if o.Failures <= 0 {
		o.Failures = DefaultFailures
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	pinned := map[string]bool{}
	for _, k := range o.Pinned {
		pinned[k] = true
	}
	return &Limiter{o: o, pinned: pinned, entries: map[string]*list.Element{}, order: list.New()}
}

// Blocked reports whether key has used up its failures in its current
// window, and if so how long until that window ends.
func (l *Limiter) Blocked(key string) (wait time.Duration, blocked bool) {
	now := l.o.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expire(now)
	el, ok := l.entries[key]
	if !ok {
		return 0, false
	}
	e := el.Value.(*entry)
	if e.count < l.o.Failures {
		return 0, false
	}
	return e.start.Add(l.o.Window).Sub(now), true
}

// Fail notes one failure for key and returns key's failures in its
// current window, this one included (1: the window starts now; 0: the
// failure is not remembered, the table being full of blocked keys).
func (l *Limiter) Fail(key string) int {
	now := l.o.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expire(now)
	if el, ok := l.entries[key]; ok {
		el.Value.(*entry).count++
		return el.Value.(*entry).count
	}
	if !l.pinned[key] && l.order.Len()-l.pinnedLen() >= l.o.MaxKeys {
		// Make room: the oldest entry that is neither blocked nor pinned.
		var victim *list.Element
		for el := l.order.Front(); el != nil; el = el.Next() {
			e := el.Value.(*entry)
			if e.count < l.o.Failures && !l.pinned[e.key] {
				victim = el
				break
			}
		}
		if victim == nil {
			return 0 // every entry is blocked or pinned: this failure is not remembered
		}
		l.remove(victim)
	}
	l.entries[key] = l.order.PushBack(&entry{key: key, start: now, count: 1})
	return 1
}

// pinnedLen is how many pinned keys have an entry (l.mu held).
func (l *Limiter) pinnedLen() int {
	n := 0
	for k := range l.pinned {
		if _, ok := l.entries[k]; ok {
			n++
		}
	}
	return n
}

// Len is the number of clients remembered.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}

// expire drops the entries whose window has ended (l.mu held). Windows
// start in list order, so they end in list order too.
func (l *Limiter) expire(now time.Time) {
	for el := l.order.Front(); el != nil; el = l.order.Front() {
		if now.Before(el.Value.(*entry).start.Add(l.o.Window)) {
			return
		}
		l.remove(el)
	}
}

func (l *Limiter) remove(el *list.Element) {
	delete(l.entries, el.Value.(*entry).key)
	l.order.Remove(el)
}

// Client is the key of the client that sent r: its address (Addr: the
// remote address of the connection, or the client a trusted proxy
// forwards for when Proxies.Wrap is in front; forwarded headers from
// anyone else are ignored). An IPv6 client is keyed by its /64, since one
// host commonly holds a whole /64.
func Client(r *http.Request) string {
	host := Addr(r)
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}
