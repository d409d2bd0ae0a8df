package state

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// leaseCase is one kind of lease table the lease type serves, with the
// clock its leases run by.
type leaseCase struct {
	name  string
	table LeaseTable
	rows  bool // the rows exist before any lease (created by the test)
	lease time.Duration
	// now is the time a call passes; pass lets a lease of lease run out.
	now  func() time.Time
	pass func()
	// leases returns owner's leases of the table.
	leases func(o Owner) *Leases
}

// The lease's rules on every kind of table it serves, in both dialects:
// two owners never both hold; same name and another instance does not
// share; a lapsed lease goes to another owner, and then its first holder
// can neither renew, release nor write under it (fence); a non-owner
// cannot renew or release; a restarted owner ends its predecessor's.
func TestLeases(t *testing.T) {
	dialects(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		if _, err := db.sql.ExecContext(ctx, `CREATE TABLE lease_test (k TEXT NOT NULL, g TEXT NOT NULL,
			owner TEXT NOT NULL DEFAULT '', until_ms BIGINT NOT NULL DEFAULT 0, fence BIGINT NOT NULL DEFAULT 0,
			PRIMARY KEY (k, g))`); err != nil {
			t.Fatal(err)
		}
		base := LeaseTable{Table: "lease_test", Key: []string{"k", "g"}, OwnerColumn: "owner", UntilColumn: "until_ms"}
		fenced := base
		fenced.FenceColumn = "fence"
		ownRows := base
		ownRows.OwnRows = true
		ownFenced := fenced
		ownFenced.OwnRows = true
		clock := time.Now().Truncate(time.Millisecond)
		fake := func(c leaseCase) leaseCase {
			c.lease = time.Minute
			c.now = func() time.Time { return clock }
			c.pass = func() {
				clock = clock.Add(2 * time.Minute)
				passLeaseTime(t, db, c.table, 2*time.Minute)
			}
			c.leases = func(o Owner) *Leases { return db.Leases(c.table, o) }
			return c
		}
		cases := []leaseCase{
			fake(leaseCase{name: "columns with a fence", table: fenced, rows: true}),
			fake(leaseCase{name: "columns", table: base, rows: true}),
			fake(leaseCase{name: "rows of its own", table: ownRows}),
			fake(leaseCase{name: "rows of its own with a fence", table: ownFenced}),
		}
		if db.Dialect() == Postgres {
			// The bus's shape: the server's clock, through a *sql.DB.
			if _, err := db.sql.ExecContext(ctx, `CREATE TABLE lease_server (k TEXT NOT NULL, g TEXT NOT NULL,
				owner TEXT NOT NULL, until TIMESTAMPTZ NOT NULL, PRIMARY KEY (k, g))`); err != nil {
				t.Fatal(err)
			}
			server := LeaseTable{Table: "lease_server", Key: []string{"k", "g"}, OwnerColumn: "owner", UntilColumn: "until",
				Timestamp: true, OwnRows: true}
			cases = append(cases, leaseCase{name: "timestamp", table: server, lease: time.Minute,
				now: time.Now, pass: func() { passLeaseTime(t, db, server, 2*time.Minute) },
				leases: func(o Owner) *Leases { return NewLeases(db.sql, Postgres, server, o) }})
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				key := []any{fmt.Sprintf("k%d", i), "g"}
				if c.rows {
					for _, k := range []any{key[0], "other"} {
						if _, err := db.sql.ExecContext(ctx, db.Rebind(`INSERT INTO lease_test (k, g) VALUES (?, ?)`), k, fmt.Sprint(i)); err != nil {
							t.Fatal(err)
						}
					}
					key[1] = fmt.Sprint(i)
				}
				testLease(t, c, key)
			})
		}
	})
}

func testLease(t *testing.T, c leaseCase, key []any) {
	ctx := context.Background()
	fenced := c.table.FenceColumn != ""

	// Eight owners, four of them sharing one name, take at once: one holds.
	var owners []*Leases
	for i := range 8 {
		owners = append(owners, c.leases(NewOwner(fmt.Sprintf("%s-hub-%d", key[0], i%5))))
	}
	var mu sync.Mutex
	var holders []*Leases
	var first Lease
	var wg sync.WaitGroup
	for _, l := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, ok, err := l.Take(ctx, c.now(), c.lease, key...)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				holders, first = append(holders, l), got
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(holders) != 1 {
		t.Fatalf("%d owners hold the lease at once, want 1", len(holders))
	}
	a := holders[0]
	if fenced && first.Fence == 0 {
		t.Errorf("taken with fence 0: %+v", first)
	}

	// The same name, another instance: neither takes, renews nor releases.
	twin := c.leases(Owner{Name: a.Owner().Name, Instance: "another"})
	if _, ok, err := twin.Take(ctx, c.now(), c.lease, key...); ok || err != nil {
		t.Fatalf("another instance of %s took a live lease: %v %v", a.Owner().Name, ok, err)
	}
	if ok, err := twin.Renew(ctx, Lease{Owner: twin.Owner(), Fence: first.Fence}, c.now(), c.lease, key...); ok || err != nil {
		t.Fatalf("another instance renewed: %v %v", ok, err)
	}
	if ok, err := twin.Release(ctx, Lease{Owner: twin.Owner(), Fence: first.Fence}, key...); ok || err != nil {
		t.Fatalf("another instance released: %v %v", ok, err)
	}
	// The holder renews, by Renew or by taking again (same fence).
	if ok, err := a.Renew(ctx, first, c.now(), c.lease, key...); !ok || err != nil {
		t.Fatalf("the holder could not renew: %v %v", ok, err)
	}
	if again, ok, err := a.Take(ctx, c.now(), c.lease, key...); !ok || err != nil || again.Fence != first.Fence {
		t.Fatalf("the holder's take again: %+v %v %v, want fence %d", again, ok, err, first.Fence)
	}

	// Run out: another owner takes it, and the first can no longer renew
	// or release it.
	b := owners[0]
	if b == a {
		b = owners[1]
	}
	c.pass()
	second, ok, err := b.Take(ctx, c.now(), c.lease, key...)
	if !ok || err != nil {
		t.Fatalf("a lapsed lease was not handed over: %v %v", ok, err)
	}
	if fenced && second.Fence <= first.Fence {
		t.Errorf("fence %d after %d: it must move on with the owner", second.Fence, first.Fence)
	}
	if ok, err := a.Renew(ctx, first, c.now(), c.lease, key...); ok || err != nil {
		t.Fatalf("the first holder renewed a lease handed over: %v %v", ok, err)
	}
	if ok, err := a.Release(ctx, first, key...); ok || err != nil {
		t.Fatalf("the first holder released a lease handed over: %v %v", ok, err)
	}
	// Released, it is free at once.
	if ok, err := b.Release(ctx, second, key...); !ok || err != nil {
		t.Fatalf("the holder could not release: %v %v", ok, err)
	}
	third, ok, err := a.Take(ctx, c.now(), c.lease, key...)
	if !ok || err != nil {
		t.Fatalf("a released lease could not be taken: %v %v", ok, err)
	}
	// Fence: the first holder took it again, but its first take is dead.
	if fenced {
		if third.Fence <= second.Fence {
			t.Errorf("fence %d after %d", third.Fence, second.Fence)
		}
		if ok, _ := a.Renew(ctx, first, c.now(), c.lease, key...); ok {
			t.Error("renewed under a take fenced off by a later one")
		}
	}

	// A restarted a (same name, new instance) ends its predecessor's
	// lease, not another hub's, nor one of a name that begins like its own.
	{
		restarted := c.leases(NewOwner(a.Owner().Name))
		lookalike := c.leases(NewOwner(a.Owner().Name + "0"))
		other := []any{"other", key[1]}
		if _, ok, err := lookalike.Take(ctx, c.now(), c.lease, other...); !ok || err != nil {
			t.Fatalf("take: %v %v", ok, err)
		}
		if n, err := restarted.ReleasePredecessors(ctx, key...); n != 1 || err != nil {
			t.Fatalf("released %d of the predecessor's leases: %v", n, err)
		}
		if n, err := restarted.ReleasePredecessors(ctx); n != 0 || err != nil {
			t.Fatalf("released %d leases of other hubs: %v", n, err)
		}
		if ok, _ := a.Renew(ctx, third, c.now(), c.lease, key...); ok {
			t.Error("the predecessor renewed a lease its successor ended")
		}
		if _, ok, err := restarted.Take(ctx, c.now(), c.lease, key...); !ok || err != nil {
			t.Fatalf("the successor could not take the lease: %v %v", ok, err)
		}
		if _, ok, _ := lookalike.Take(ctx, c.now(), c.lease, key...); ok {
			t.Error("two owners hold one lease")
		}
	}
}

// passLeaseTime lets by pass for table's leases on PostgreSQL, where they
// run by the server's clock, which a test cannot move: every lease's end
// moves back by by. On SQLite the leases run by the time the test passes,
// which it moves itself.
func passLeaseTime(t *testing.T, db *DB, table LeaseTable, by time.Duration) {
	t.Helper()
	if db.Dialect() != Postgres {
		return
	}
	minus := `? * interval '1 millisecond'`
	if !table.Timestamp {
		minus = `?`
	}
	if _, err := db.sql.ExecContext(context.Background(), db.Rebind(`UPDATE `+table.Table+` SET `+table.UntilColumn+` = `+
		table.UntilColumn+` - `+minus+` WHERE `+table.OwnerColumn+` <> ''`), by.Milliseconds()); err != nil {
		t.Fatal(err)
	}
}

func TestParseOwnerReadsWhatStringWrote(t *testing.T) {
	o := NewOwner("hub-a#1%")
	if got := ParseOwner(o.String()); got != o {
		t.Fatalf("ParseOwner(%q) = %+v, want %+v", o.String(), got, o)
	}
	if got := ParseOwner("old-hub"); got != (Owner{Name: "old-hub"}) {
		t.Fatalf("a bare name: %+v", got)
	}
}
