package throttle

import (
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)} }

func TestOneClientFailingDoesNotBlockAnother(t *testing.T) {
	c := newClock()
	l := New(Options{Failures: 10, Window: time.Minute, Now: c.now})
	for i := 0; i < 9; i++ {
		l.Fail("a")
		if _, b := l.Blocked("a"); b {
			t.Fatalf("a blocked after %d failures, want 10", i+1)
		}
	}
	l.Fail("a")
	wait, b := l.Blocked("a")
	if !b || wait != time.Minute {
		t.Fatalf("a after 10 failures: blocked=%v wait=%v, want true 1m", b, wait)
	}
	if _, b := l.Blocked("b"); b {
		t.Fatal("b blocked by a's failures")
	}
	c.add(40 * time.Second)
	if wait, b := l.Blocked("a"); !b || wait != 20*time.Second {
		t.Fatalf("a 40s on: blocked=%v wait=%v, want true 20s", b, wait)
	}
	c.add(20 * time.Second)
	if _, b := l.Blocked("a"); b {
		t.Fatal("a still blocked when its window ended")
	}
	if l.Len() != 0 {
		t.Fatalf("Len after the window = %d, want 0 (expired)", l.Len())
	}
	l.Fail("a")
	if _, b := l.Blocked("a"); b {
		t.Fatal("a blocked after one failure in a new window")
	}
}

func TestKeyCapHolds(t *testing.T) {
	c := newClock()
	l := New(Options{Failures: 2, MaxKeys: 100, Now: c.now})
	l.Fail("old")
	l.Fail("old")
	for i := 0; i < 10000; i++ {
		c.add(time.Millisecond)
		l.Fail(fmt.Sprintf("flood-%d", i))
		if n := l.Len(); n > 100 {
			t.Fatalf("Len = %d after %d keys, want at most 100", n, i+1)
		}
	}
	if l.Len() != 100 {
		t.Fatalf("Len = %d, want 100", l.Len())
	}
	// The oldest windows that are not blocked went first; the blocked
	// key stays blocked (a flood does not give it a fresh allowance) and
	// the newest stay counted.
	if _, b := l.Blocked("old"); !b {
		t.Fatal("the flood evicted a blocked key")
	}
	l.Fail("flood-9999")
	if _, b := l.Blocked("flood-9999"); !b {
		t.Fatal("the newest key lost its count")
	}
}

func TestConcurrentUse(t *testing.T) {
	l := New(Options{Failures: 1000, MaxKeys: 50})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				k := fmt.Sprintf("k%d", (g*500+i)%80)
				l.Fail(k)
				l.Blocked(k)
			}
		}(g)
	}
	wg.Wait()
	if n := l.Len(); n > 50 {
		t.Fatalf("Len = %d, want at most 50", n)
	}
}

func TestClient(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.7:5123":                "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:4:5:6]:443": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:80":         "192.0.2.7",
		"[fe80::1%eth0]:80":             "fe80::/64",
		"not-an-address":                "not-an-address",
		"192.0.2.8":                     "192.0.2.8",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", "203.0.113.1")
		if got := Client(r); got != want {
			t.Errorf("Client(%q) = %q, want %q", remote, got, want)
		}
	}
}

// A flood of new keys cannot evict a blocked key (which would give it a
// fresh allowance), nor a pinned key, whatever its count (M2).
func TestFloodEvictsNeitherBlockedNorPinned(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(Options{Failures: 3, Window: time.Minute, MaxKeys: 4, Pinned: []string{"pinned"}, Now: func() time.Time { return now }})
	for range 3 {
		l.Fail("guesser")
	}
	l.Fail("pinned")
	for i := range 100 {
		l.Fail(fmt.Sprintf("flood-%d", i))
	}
	if _, blocked := l.Blocked("guesser"); !blocked {
		t.Fatal("a flood of new keys evicted a blocked key")
	}
	l.Fail("pinned")
	l.Fail("pinned")
	if _, blocked := l.Blocked("pinned"); !blocked {
		t.Fatal("a flood of new keys evicted the pinned key's count")
	}
	if n := l.Len(); n > 4+1 {
		t.Fatalf("%d entries, want at most MaxKeys plus the pinned one", n)
	}
	// Every unpinned slot blocked: a new key is not remembered, the
	// blocked ones stay.
	for i := range 4 {
		for range 3 {
			l.Fail(fmt.Sprintf("b-%d", i))
		}
	}
	if _, blocked := l.Blocked("guesser"); !blocked {
		t.Fatal("the blocked key was evicted")
	}
	if n := l.Len(); n > 4+1 {
		t.Fatalf("%d entries, want at most MaxKeys plus the pinned one", n)
	}
	now = now.Add(time.Minute)
	if _, blocked := l.Blocked("guesser"); blocked {
		t.Fatal("still blocked after its window")
	}
}

// The admin token's account keeps its count however many other accounts fail.
func TestAccountsAdminSlotNeverEvicted(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := NewAccounts(AccountOptions{Failures: 3, Window: time.Minute, MaxKeys: 2, Now: func() time.Time { return now }})
	a.Fail(AdminAccount)
	a.Fail(AdminAccount)
	for i := range 50 {
		a.Fail(fmt.Sprintf("token:%d", i))
	}
	a.Fail(AdminAccount)
	if _, blocked := a.Blocked(AdminAccount, "192.0.2.1"); !blocked {
		t.Fatal("other accounts' failures evicted the admin account's count")
	}
}
