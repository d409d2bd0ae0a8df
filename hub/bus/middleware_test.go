package bus

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/reviewhub/reviewhub/sdk"
)

// records keeps the log records a test's logger wrote.
type records struct {
	mu  sync.Mutex
	got []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, rec)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func failing(err error) message.HandlerFunc {
	return func(*message.Message) ([]*message.Message, error) { return nil, err }
}

func TestLogFailuresLevels(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		logs  bool
		level slog.Level
	}{
		{"success", nil, false, 0},
		{"transient", sdk.Errorf(sdk.ErrorKindUnavailable, "down"), true, slog.LevelWarn},
		{"permanent", Permanent(errors.New("malformed")), true, slog.LevelError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &records{}
			msg := NewMessage("corr-1", nil)
			SetKeys(msg, "acme", "")
			SetSubject(msg, "ios", "r9")
			_, err := logFailures(slog.New(rec))(failing(tc.err))(msg)
			if !errors.Is(err, tc.err) {
				t.Errorf("error %v, want the handler's %v", err, tc.err)
			}
			if !tc.logs {
				if len(rec.got) != 0 {
					t.Errorf("logged %d records on success", len(rec.got))
				}
				return
			}
			if len(rec.got) != 1 {
				t.Fatalf("%d records, want 1", len(rec.got))
			}
			r := rec.got[0]
			attrs := map[string]string{}
			r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
			if r.Level != tc.level || attrs["message_uuid"] != msg.UUID || attrs["correlation_id"] != "corr-1" || attrs["reason"] != tc.err.Error() ||
				attrs["integration"] != "acme" || attrs["app"] != "ios" || attrs["review"] != "r9" {
				t.Errorf("record %v %q %v, want level %v with the message, correlation id, integration, app, review and reason", r.Level, r.Message, attrs, tc.level)
			}
		})
	}
}

// A "retry after" is waited out before the error goes on, but never longer
// than the cap, and no longer than the message's context lives; the
// handler's result is passed on unchanged.
func TestWaitRetryAfter(t *testing.T) {
	limited := sdk.Errorf(sdk.ErrorKindRateLimited, "slow down")
	limited.RetryAfter = time.Hour

	// Capped: an hour's "retry after" with a tiny cap returns.
	msg := NewMessage("", nil)
	if _, err := waitRetryAfter(time.Millisecond)(failing(limited))(msg); !errors.Is(err, limited) {
		t.Errorf("error %v, want the handler's", err)
	}

	// Cancelled: the wait ends with the message's context.
	ctx, cancel := context.WithCancel(context.Background())
	msg = NewMessage("", nil)
	msg.SetContext(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := waitRetryAfter(time.Hour)(failing(limited))(msg)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, limited) {
			t.Errorf("error %v, want the handler's", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still waiting after the message's context ended")
	}

	// No "retry after", or success: nothing to wait for; messages pass.
	want := []*message.Message{NewMessage("", nil)}
	out, err := waitRetryAfter(time.Hour)(func(*message.Message) ([]*message.Message, error) { return want, nil })(NewMessage("", nil))
	if err != nil || len(out) != 1 || out[0] != want[0] {
		t.Errorf("got %v, %v; want the handler's messages", out, err)
	}
	plain := errors.New("plain")
	if _, err := waitRetryAfter(time.Hour)(failing(plain))(NewMessage("", nil)); err != plain {
		t.Errorf("error %v, want %v", err, plain)
	}
}
