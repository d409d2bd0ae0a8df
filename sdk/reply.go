package sdk

import (
	"context"
	"crypto/sha256"
	"sort"
	"sync"
)

// ReadReplyFirst makes PostReply idempotent where the store lets a plugin
// read a review's reply: the hub calls PostReply at least once, and after
// a crash between the store accepting a reply and the hub recording it,
// it calls again with the same text. current reads the reply the review
// carries now (nil: none); when its text is exactly text, that reply is
// the answer and post is not called. Otherwise post publishes (or
// replaces) the reply. Where a read spends a scarce quota and posting
// again only replaces the earlier reply (Google Play), post directly
// instead.
func ReadReplyFirst(ctx context.Context, text string,
	current func(context.Context) (*DeveloperReply, error),
	post func(context.Context) (DeveloperReply, error)) (DeveloperReply, error) {
	cur, err := current(ctx)
	if err != nil {
		return DeveloperReply{}, err
	}
	if cur != nil && cur.Text == text {
		return *cur, nil
	}
	return post(ctx)
}

// ClientCache keeps one vendor client per set of settings (grafana's
// instance manager): building one can be costly (a parsed key, a token
// source), and settings change rarely, but a plugin must not keep state
// that outlives a change. Clients are keyed by a digest of every setting
// (secrets are never kept in the key); at most Max clients (default 64)
// are kept, the least recently used is dropped first. The zero value is
// ready to use.
type ClientCache[C any] struct {
	// Max is the number of clients kept (default 64).
	Max int

	mu    sync.Mutex
	byKey map[[32]byte]*cacheEntry[C]
	tick  uint64
}

type cacheEntry[C any] struct {
	c    C
	used uint64
}

// Get returns the client of s, built with build on first use. An error of
// build is returned and nothing is kept.
func (cc *ClientCache[C]) Get(s Settings, build func(Settings) (C, error)) (C, error) {
	key := settingsKey(s)
	cc.mu.Lock()
	cc.tick++
	if e, ok := cc.byKey[key]; ok {
		e.used = cc.tick
		cc.mu.Unlock()
		return e.c, nil
	}
	cc.mu.Unlock()
	// Built without the lock: a build may call the vendor (a token), and
	// must not hold up the calls of other accounts. Two calls building the
	// same client at once keep the first one stored.
	c, err := build(s)
	if err != nil {
		return c, err
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.tick++
	if e, ok := cc.byKey[key]; ok {
		e.used = cc.tick
		return e.c, nil
	}
	if cc.byKey == nil {
		cc.byKey = map[[32]byte]*cacheEntry[C]{}
	}
	max := cc.Max
	if max <= 0 {
		max = 64
	}
	for len(cc.byKey) >= max {
		var oldest [32]byte
		first := true
		for k, e := range cc.byKey {
			if first || e.used < cc.byKey[oldest].used {
				oldest, first = k, false
			}
		}
		delete(cc.byKey, oldest)
	}
	cc.byKey[key] = &cacheEntry[C]{c: c, used: cc.tick}
	return c, nil
}

// Len is the number of clients kept.
func (cc *ClientCache[C]) Len() int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return len(cc.byKey)
}

func settingsKey(s Settings) [32]byte {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(s[k]))
		h.Write([]byte{0})
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}
