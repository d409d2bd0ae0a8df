package throttle

import (
	"container/list"
	"sync"
	"time"
)

// Defaults of Accounts.
const (
	DefaultAccountFailures = 100
	DefaultAccountWindow   = 15 * time.Minute
	DefaultRemember        = 30 * 24 * time.Hour
)

// AdminAccount is the admin token's account: its failures are kept in a
// slot of their own, never evicted by other accounts' failures.
const AdminAccount = "admin_token"

// AccountOptions configure Accounts; zero values take the defaults.
type AccountOptions struct {
	// Failures against one account (from any clients) within Window
	// before clients not known to the account are refused.
	Failures int
	Window   time.Duration
	// Remember is how long a client that signed in to an account stays
	// known to it.
	Remember time.Duration
	// MaxKeys bounds both tables (accounts failing, known pairs).
	MaxKeys int
	Now     func() time.Time
}

// Accounts limits failures per account (the admin token, one personal
// token), on top of the per-client Limiter: many clients guessing one
// account together stay slow, yet nobody is locked out by others'
// failures. A client that signed in to the account before (within
// Remember) is never refused for the account's failures, only for its
// own (the per-client Limiter); clients new to an account wait out the
// window once the account saw Failures failures within it.
type Accounts struct {
	o        AccountOptions
	failures *Limiter

	mu    sync.Mutex
	known map[string]*list.Element
	order *list.List // of *knownPair, oldest sign-in first
}

type knownPair struct {
	key string
	at  time.Time
}

// NewAccounts returns an account limiter.
func NewAccounts(o AccountOptions) *Accounts {
	if o.Failures <= 0 {
		o.Failures = DefaultAccountFailures
	}
	if o.Window <= 0 {
		o.Window = DefaultAccountWindow
	}
	if o.Remember <= 0 {
		o.Remember = DefaultRemember
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Accounts{o: o, failures: New(Options{Failures: o.Failures, Window: o.Window, MaxKeys: o.MaxKeys, Now: o.Now,
		Pinned: []string{AdminAccount}}),
		known: map[string]*list.Element{}, order: list.New()}
}

func pairKey(account, client string) string { return account + "\x00" + client }

// Blocked reports whether client must wait before trying account again,
// and how long.
func (a *Accounts) Blocked(account, client string) (time.Duration, bool) {
	if a.isKnown(account, client) {
		return 0, false
	}
	return a.failures.Blocked(account)
}

// Fail counts a failure against account. Callers count only accounts that
// exist (the configured admin token, a personal token in the state), so
// that made-up accounts cannot fill the table.
func (a *Accounts) Fail(account string) { a.failures.Fail(account) }

// Succeeded remembers that client signed in to account.
func (a *Accounts) Succeeded(account, client string) {
	now := a.o.Now()
	key := pairKey(account, client)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expireLocked(now)
	if el, ok := a.known[key]; ok {
		el.Value.(*knownPair).at = now
		a.order.MoveToBack(el)
		return
	}
	for a.order.Len() >= a.o.MaxKeys {
		front := a.order.Front()
		delete(a.known, front.Value.(*knownPair).key)
		a.order.Remove(front)
	}
	a.known[key] = a.order.PushBack(&knownPair{key: key, at: now})
}

func (a *Accounts) isKnown(account, client string) bool {
	now := a.o.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expireLocked(now)
	_, ok := a.known[pairKey(account, client)]
	return ok
}

func (a *Accounts) expireLocked(now time.Time) {
	for el := a.order.Front(); el != nil; el = a.order.Front() {
		p := el.Value.(*knownPair)
		if now.Sub(p.at) < a.o.Remember {
			return
		}
		delete(a.known, p.key)
		a.order.Remove(el)
	}
}
