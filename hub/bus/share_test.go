package bus

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
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

// leasesByTopic counts the live subscription leases of each hub per work
// topic (its partitions together).
func leasesByTopic(t *testing.T, b *Postgres) map[string]map[string]int {
	t.Helper()
	rows, err := b.db.Query(`SELECT topic, owner FROM ` + leasesTable + ` WHERE until > now()`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var topic, owner string
		if err := rows.Scan(&topic, &owner); err != nil {
			t.Fatal(err)
		}
		hub := state.ParseOwner(owner).Name
		base := BaseTopic(topic)
		if out[base] == nil {
			out[base] = map[string]int{}
		}
		out[base][hub]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// fairlyShared tells whether every partition of each work topic is held,
// each of hubs holding Partitions/len(hubs) ± 1 of every topic.
func fairlyShared(got map[string]map[string]int, hubs []string) bool {
	share := float64(Partitions) / float64(len(hubs))
	for _, topic := range []string{TopicReviews, TopicReplies, TopicReplyResults} {
		total := 0
		for _, h := range hubs {
			n := got[topic][h]
			total += n
			if float64(n) < share-1 || float64(n) > share+1 {
				return false
			}
		}
		if total != Partitions || len(got[topic]) != len(hubs) {
			return false
		}
	}
	return true
}

// Hubs share the partitions of every topic, not only their number: with
// the three work topics subscribed (as the hub does), N hubs each hold
// Partitions/N ± 1 partitions of each topic within a bounded time (so each
// delivers its share of the reviews), and after one leaves the others take
// its partitions.
func TestPostgresHubsShareEachTopicsPartitions(t *testing.T) {
	db := openPostgres(t)
	cfg := SubscriberConfig{InFlight: 4, Lease: 1500 * time.Millisecond}
	subscribeAll := func(b *Postgres, ctx context.Context) {
		for _, topic := range []string{TopicReviews, TopicReplies, TopicReplyResults} {
			for n := range Partitions {
				ch, err := b.Subscriber().Subscribe(ctx, PartitionTopic(topic, n))
				if err != nil {
					t.Fatal(err)
				}
				go func() {
					for m := range ch {
						m.Ack()
					}
				}()
			}
		}
	}
	waitFair := func(b *Postgres, hubs ...string) {
		t.Helper()
		start := time.Now()
		for {
			got := leasesByTopic(t, b)
			if fairlyShared(got, hubs) {
				t.Logf("%d hubs: %v after %s", len(hubs), got, time.Since(start).Round(time.Millisecond))
				return
			}
			// Bounded: a few renewals (a third of the lease each) per
			// lease handed over; far below the minute.
			if time.Since(start) > 40*time.Second {
				t.Fatalf("leases by topic and hub %v: not %d/%d ± 1 of each topic for each of %v", got, Partitions, len(hubs), hubs)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var buses []*Postgres
	var cancels []context.CancelFunc
	for _, name := range []string{"hub-a", "hub-b", "hub-c"} {
		c := cfg
		c.Owner = name
		b := newPostgresBus(t, db, c)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		subscribeAll(b, ctx)
		buses, cancels = append(buses, b), append(cancels, cancel)
	}
	waitFair(buses[0], "hub-a", "hub-b", "hub-c")

	cancels[2]()
	if err := buses[2].Close(); err != nil {
		t.Fatal(err)
	}
	waitFair(buses[0], "hub-a", "hub-b")
}
