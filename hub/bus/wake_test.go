package bus

import (
	"testing"
	"time"
)

// A commit to one topic wakes that topic's subscriptions only; Wake wakes
// them all.
func TestWakeTopicWakesOnlyItsTopic(t *testing.T) {
	s := newWindowSubscriber(newSubEnv(nil, SubscriberConfig{}, nil), nil)
	a, b := s.wakeOf("reviews_p1"), s.wakeOf("replies_p1")
	s.WakeTopic("reviews_p1")
	select {
	case <-a:
	default:
		t.Error("the topic published to was not woken")
	}
	select {
	case <-b:
		t.Error("another topic was woken")
	default:
	}
	if s.wakeOf("reviews_p1") == a {
		t.Error("a woken topic's next wait reuses the closed channel")
	}
	s.Wake()
	select {
	case <-b:
	default:
		t.Error("Wake did not wake every topic")
	}
}

// An idle subscription looks less and less often, up to IdlePollMax; one
// that found messages looks again after PollInterval.
func TestIdlePollSlowsDownUpToItsBound(t *testing.T) {
	s := newWindowSubscriber(newSubEnv(nil, SubscriberConfig{PollInterval: 250 * time.Millisecond, IdlePollMax: time.Second}, nil), nil)
	c := &consumer{s: s}
	for empty, want := range []time.Duration{250, 250, 500, 1000, 1000, 1000} {
		c.empty = empty
		if got := c.idlePoll(); got != want*time.Millisecond {
			t.Errorf("after %d empty reads: %s, want %dms", empty, got, want)
		}
	}
	sq := newWindowSubscriber(newSubEnv(nil, SubscriberConfig{PollInterval: 500 * time.Millisecond}, nil), nil)
	if got := (&consumer{s: sq, empty: 9}).idlePoll(); got != 500*time.Millisecond {
		t.Errorf("without IdlePollMax: %s, want the poll interval", got)
	}
}
