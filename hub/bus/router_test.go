package bus

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v3/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/reviewhub/reviewhub/sdk"
)

// channelBus is a Bus on Watermill's in-memory pub/sub: the router's
// middleware without a database.
type channelBus struct{ *gochannel.GoChannel }

func (channelBus) PublishTx(wsql.ContextExecutor, string, ...*message.Message) error {
	return errors.New("no outbox")
}
func (b channelBus) Publisher() message.Publisher   { return b.GoChannel }
func (b channelBus) Subscriber() message.Subscriber { return b.GoChannel }
func (channelBus) Committed()                       {}

// runRouter runs the hub's router with handler on topic "work" and returns
// the dead letters' channel.
func runRouter(t *testing.T, handler message.NoPublishHandlerFunc) (channelBus, <-chan *message.Message) {
	t.Helper()
	return runRouterLogged(t, slog.New(slog.DiscardHandler), handler)
}

// runRouterLogged is runRouter logging to logger.
func runRouterLogged(t *testing.T, logger *slog.Logger, handler message.NoPublishHandlerFunc) (channelBus, <-chan *message.Message) {
	t.Helper()
	b := channelBus{gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 16}, watermill.NopLogger{})}
	ctx, cancel := context.WithCancel(context.Background())
	dead, err := b.Subscribe(ctx, TopicDeadLetters)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRouter(b, logger, RouterConfig{Retries: 2, RetryInitial: time.Millisecond, RetryMax: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.AddConsumerHandler("work", "work", b, handler)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = b.Close()
	})
	<-r.Running()
	return b, dead
}

func TestRouterDeadLettersPermanentErrorsAtOnce(t *testing.T) {
	var calls atomic.Int32
	rec := &records{}
	b, dead := runRouterLogged(t, slog.New(rec), func(*message.Message) error {
		calls.Add(1)
		return Permanent(errors.New("integration gone"))
	})
	msg := NewMessage("corr-7", []byte("payload"))
	SetKeys(msg, "acme", "acme/ios/r1")
	SetSubject(msg, "ios", "r1")
	if err := b.Publish("work", msg); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-dead:
		d.Ack()
		if d.UUID != msg.UUID || string(d.Payload) != "payload" || CorrelationID(d) != "corr-7" {
			t.Errorf("dead letter %s %q %q, want the message with its correlation id", d.UUID, d.Payload, CorrelationID(d))
		}
		if reason := d.Metadata.Get(middleware.ReasonForPoisonedKey); reason != "integration gone" {
			t.Errorf("reason %q, want the handler's error", reason)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no dead letter")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1 (a permanent error is not retried)", n)
	}
	// One error line names the dead letter's integration, app, review and
	// reason (the poison queue swallows the error: the line is logged
	// inside it).
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var lines []map[string]string
	for _, r := range rec.got {
		if r.Level >= slog.LevelWarn {
			attrs := map[string]string{}
			r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
			lines = append(lines, attrs)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d warning or error lines, want 1: %v", len(lines), lines)
	}
	if l := lines[0]; l["integration"] != "acme" || l["app"] != "ios" || l["review"] != "r1" || l["reason"] != "integration gone" {
		t.Errorf("dead letter logged with %v, want integration acme, app ios, review r1 and the reason", l)
	}
}

// A transient error is retried in the handler, and a message that then
// succeeds is no dead letter.
func TestRouterRetriesTransientErrors(t *testing.T) {
	var calls atomic.Int32
	handled := make(chan struct{})
	b, dead := runRouter(t, func(*message.Message) error {
		if calls.Add(1) <= 2 {
			return sdk.Errorf(sdk.ErrorKindUnavailable, "down")
		}
		close(handled)
		return nil
	})
	if err := b.Publish("work", NewMessage("", []byte("x"))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-handled:
	case d := <-dead:
		t.Fatalf("dead letter %s for a transient error", d.UUID)
	case <-time.After(30 * time.Second):
		t.Fatal("never handled")
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("handler ran %d times, want 3 (two failures, then success)", n)
	}
}
