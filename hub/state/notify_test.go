package state

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestNotifyDestinationProgressAndThreads(t *testing.T) {
	dialects(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		now := time.Now().Truncate(time.Millisecond)
		if err := db.EnsureNotifyDestination(ctx, "slack", 42); err != nil {
			t.Fatal(err)
		}
		if err := db.EnsureNotifyDestination(ctx, "slack", 99); err != nil {
			t.Fatal(err)
		}
		n, err := db.NotifyDestinationByName(ctx, "slack")
		if err != nil || n.CursorMS != 42 {
			t.Fatalf("%+v %v: want the first cursor kept", n, err)
		}
		a, b := db.NotifyLeases(NewOwner("a")), db.NotifyLeases(NewOwner("b"))
		claim, ok, err := a.Take(ctx, now, time.Minute, "slack")
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if _, ok, _ := b.Take(ctx, now, time.Minute, "slack"); ok {
			t.Fatal("two hubs hold one destination")
		}
		n.CursorMS, n.CursorID, n.Policy, n.RetryAt, n.Tries, n.Refused = 50, "evt_1", `{"Sent":[]}`, now.Add(time.Minute), 2, 1
		if err := db.SaveNotifyDestination(ctx, claim, n); err != nil {
			t.Fatal(err)
		}
		got, _ := db.NotifyDestinationByName(ctx, "slack")
		if got.CursorMS != 50 || got.CursorID != "evt_1" || got.Policy != n.Policy || !got.RetryAt.Equal(n.RetryAt) || got.Tries != 2 || got.Refused != 1 {
			t.Errorf("saved %+v, read %+v", n, got)
		}
		if _, err := a.Release(ctx, claim, "slack"); err != nil {
			t.Fatal(err)
		}
		if err := db.SaveNotifyDestination(ctx, claim, n); !errors.Is(err, ErrLeaseLost) {
			t.Errorf("a save after the release: %v, want ErrLeaseLost", err)
		}
		if ref, err := db.NotifyThread(ctx, "slack", "acme/ios/r1"); err != nil || ref != "" {
			t.Fatal(ref, err)
		}
		for _, ref := range []string{"1700000000.000100", "1700000000.000200"} {
			if err := db.AddNotifyThread(ctx, "slack", "acme/ios/r1", ref, now); err != nil {
				t.Fatal(err)
			}
		}
		if ref, _ := db.NotifyThread(ctx, "slack", "acme/ios/r1"); ref != "1700000000.000100" {
			t.Errorf("thread %q: want the first message's", ref)
		}
	})
}
