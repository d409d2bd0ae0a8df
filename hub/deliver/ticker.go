package deliver

import (
	"context"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// ticker is a message.Subscriber that hands its handler one message per
// interval, so that a periodic job runs inside the router: it starts and
// stops with it, with the router's middleware, and no caller has to manage
// another goroutine. A tick is not sent before the previous one is acked or
// nacked, so ticks never pile up.
type ticker struct {
	every time.Duration

	once sync.Once
	done chan struct{}
}

func newTicker(every time.Duration) *ticker {
	return &ticker{every: every, done: make(chan struct{})}
}

// Subscribe starts ticking until ctx ends or Close.
func (t *ticker) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	out := make(chan *message.Message)
	go func() {
		defer close(out)
		tk := time.NewTicker(t.every)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.done:
				return
			case <-tk.C:
			}
			msg := message.NewMessage(watermill.NewShortUUID(), nil)
			msg.SetContext(ctx)
			select {
			case out <- msg:
			case <-ctx.Done():
				return
			case <-t.done:
				return
			}
			select {
			case <-msg.Acked():
			case <-msg.Nacked():
			case <-ctx.Done():
				return
			case <-t.done:
				return
			}
		}
	}()
	return out, nil
}

// Close stops the ticks.
func (t *ticker) Close() error {
	t.once.Do(func() { close(t.done) })
	return nil
}
