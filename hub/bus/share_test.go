package bus

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// leasesBy counts the live subscription leases of each hub (by the stable
// part of the owner).
func leasesBy(t *testing.T, b *Postgres) map[string]int {
	t.Helper()
	rows, err := b.db.Query(`SELECT owner FROM ` + leasesTable + ` WHERE until > now()`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var owner string
		if err := rows.Scan(&owner); err != nil {
			t.Fatal(err)
		}
		hub, _, _ := strings.Cut(owner, "#")
		out[hub]++
	}
	return out
}

func waitForShares(t *testing.T, b *Postgres, want map[string]int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := leasesBy(t, b)
		if fmt.Sprint(got) == fmt.Sprint(want) {
			t.Logf("%v after %s", got, time.Since(deadline.Add(-30*time.Second)).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("leases by hub %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Hubs share the partitions: a hub that joins takes its fair share from
// the one holding them all (handed over after what is in flight), and when
// it stops the other takes them all back; messages published to every
// partition meanwhile are all delivered.
func TestPostgresHubsShareThePartitions(t *testing.T) {
	db := openPostgres(t)
	cfg := SubscriberConfig{InFlight: 4, Lease: 1500 * time.Millisecond}
	cfgA, cfgB := cfg, cfg
	cfgA.Owner, cfgB.Owner = "hub-a", "hub-b"
	var mu sync.Mutex
	delivered := map[string]bool{}
	subscribeAll := func(b *Postgres, ctx context.Context) {
		for n := range Partitions {
			ch, err := b.Subscriber().Subscribe(ctx, PartitionTopic(TopicReviews, n))
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				for m := range ch {
					mu.Lock()
					delivered[string(m.Payload)] = true
					mu.Unlock()
					m.Ack()
				}
			}()
		}
	}
	sent := 0
	publish := func(b *Postgres) { // one message to every partition
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		for n := range Partitions {
			sent++
			if err := b.PublishTx(tx, PartitionTopic(TopicReviews, n), NewMessage("", []byte(fmt.Sprintf(`"m%d"`, sent)))); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	publishing := func(b *Postgres, until <-chan struct{}) <-chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-until:
					return
				case <-time.After(20 * time.Millisecond):
					publish(b)
				}
			}
		}()
		return done
	}
	a := newPostgresBus(t, db, cfgA)
	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	subscribeAll(a, ctxA)
	waitForShares(t, a, map[string]int{"hub-a": Partitions})

	b := newPostgresBus(t, db, cfgB)
	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	stop := make(chan struct{})
	pubDone := publishing(a, stop)
	subscribeAll(b, ctxB)
	waitForShares(t, a, map[string]int{"hub-a": Partitions / 2, "hub-b": Partitions / 2})

	cancelB()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	waitForShares(t, a, map[string]int{"hub-a": Partitions})
	close(stop)
	<-pubDone
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(delivered)
		mu.Unlock()
		if n == sent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages delivered", n, sent)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
