package bus

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
)

type payload struct {
	ID string `json:"id"`
	N  int    `json:"n"`
}

func TestHandleDecodesThePayloadOnce(t *testing.T) {
	var got payload
	var gotMsg *message.Message
	h := Handle(func(_ context.Context, m payload, msg *message.Message) error {
		got, gotMsg = m, msg
		return nil
	})
	msg := NewMessage("corr", []byte(`{"id":"r1","n":3}`))
	if err := h(msg); err != nil {
		t.Fatal(err)
	}
	if got != (payload{ID: "r1", N: 3}) || gotMsg != msg {
		t.Errorf("handler got %+v and %p, want the decoded payload and the message %p", got, gotMsg, msg)
	}
}

// A payload that does not decode can never succeed: permanent (a dead
// letter naming the message), and the handler is not called.
func TestHandleMalformedPayloadIsPermanent(t *testing.T) {
	called := false
	h := Handle(func(context.Context, payload, *message.Message) error {
		called = true
		return nil
	})
	msg := NewMessage("corr", []byte(`{"id":`))
	err := h(msg)
	if err == nil || !IsPermanent(err) {
		t.Fatalf("error %v, want a permanent one", err)
	}
	if !strings.Contains(err.Error(), msg.UUID) || !strings.Contains(err.Error(), "bus.payload") {
		t.Errorf("error %q: want the message uuid and the payload type named", err)
	}
	if called {
		t.Error("the handler ran on a malformed payload")
	}
}

// The handler's own errors come back as they are: transient stays transient.
func TestHandlePassesTheHandlersError(t *testing.T) {
	want := errors.New("helpdesk down")
	h := Handle(func(context.Context, payload, *message.Message) error { return want })
	err := h(NewMessage("", []byte(`{}`)))
	if !errors.Is(err, want) || IsPermanent(err) {
		t.Errorf("error %v, want the handler's transient error", err)
	}
}
