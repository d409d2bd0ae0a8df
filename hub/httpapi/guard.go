package httpapi

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
)

// MaxRequestID is the longest X-Request-Id accepted from a client.
const MaxRequestID = 64

// requestID returns the client's X-Request-Id when it is at most
// MaxRequestID characters of [A-Za-z0-9._-], otherwise a new id: the value
// is logged and echoed, so it must neither amplify nor inject anything.
func requestID(r *http.Request) string {
	id := r.Header.Get("X-Request-Id")
	if validRequestID(id) {
		return id
	}
	return watermill.NewShortUUID()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// clip bounds a client- or plugin-supplied value before it is logged or
// reflected: at most n bytes of printable ASCII, others shown as '?', and
// "…" when cut.
func clip(s string, n int) string {
	cut := len(s) > n
	if cut {
		s = s[:n]
	}
	var b strings.Builder
	b.Grow(len(s) + 3)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		} else {
			b.WriteByte('?')
		}
	}
	if cut {
		b.WriteString("…")
	}
	return b.String()
}

// Kinds of refused unauthenticated webhook calls.
const (
	RefusedUnknownIntegration = "unknown_integration"
	RefusedWrongPlugin        = "wrong_plugin"
	RefusedByPlugin           = "refused_by_plugin" // wrong or missing secret
)

// refusalLog counts refused unauthenticated webhook calls and logs at most
// one WARN per kind per interval, with the number left out since the last
// one: a flood of bad calls costs a counter, not a log line each.
type refusalLog struct {
	every time.Duration

	mu    sync.Mutex
	kinds map[string]*refusalKind
}

type refusalKind struct {
	total      int64
	suppressed int64
	last       time.Time
}

// defaultRefusalLogEvery is the shortest gap between two WARN lines of one kind.
const defaultRefusalLogEvery = 10 * time.Second

// note counts a refusal and logs it unless one of its kind was logged less
// than an interval ago.
func (l *refusalLog) note(log *slog.Logger, kind, msg string, args ...any) {
	l.mu.Lock()
	if l.kinds == nil {
		l.kinds = map[string]*refusalKind{}
	}
	k := l.kinds[kind]
	if k == nil {
		k = &refusalKind{}
		l.kinds[kind] = k
	}
	k.total++
	now := time.Now()
	every := l.every
	if every == 0 {
		every = defaultRefusalLogEvery
	}
	if !k.last.IsZero() && now.Sub(k.last) < every {
		k.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed, total := k.suppressed, k.total
	k.suppressed, k.last = 0, now
	l.mu.Unlock()
	log.Warn(msg, append(args, "refusal", kind, "not_logged_since_last", suppressed, "total", total)...)
}

// counts returns the refusals counted so far by kind.
func (l *refusalLog) counts() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int64{}
	for k, v := range l.kinds {
		out[k] = v.total
	}
	return out
}
