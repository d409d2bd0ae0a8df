package state

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSessionsKeptTouchedDeletedAndPruned(t *testing.T) { dialects(t, testSessions) }

func testSessions(t *testing.T, db *DB) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	mk := func(key, subject string, created time.Time) Session {
		return Session{Key: key, Subject: subject, Name: subject + "@acme.example", Role: "agent", Via: "oidc:corp",
			CSRF: "csrf-" + key, CreatedAt: created, SeenAt: created}
	}
	for _, s := range []Session{mk("k1", "ann", t0), mk("k2", "ann", t0.Add(time.Minute)), mk("k3", "bob", t0.Add(2*time.Hour))} {
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.CreateSession(ctx, mk("k1", "eve", t0)); err == nil {
		t.Error("a second session with the same key was stored")
	}
	got, ok, err := db.Session(ctx, "k1")
	if err != nil || !ok {
		t.Fatalf("session k1: %v %v", ok, err)
	}
	if want := mk("k1", "ann", t0); got != want {
		t.Errorf("session k1 = %+v, want %+v", got, want)
	}
	if _, ok, err := db.Session(ctx, "nope"); ok || err != nil {
		t.Errorf("unknown session: %v %v", ok, err)
	}

	// Touching moves seen_at forward only.
	if err := db.TouchSession(ctx, "k1", t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchSession(ctx, "k1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := db.Session(ctx, "k1"); !got.SeenAt.Equal(t0.Add(3*time.Hour)) || !got.CreatedAt.Equal(t0) {
		t.Errorf("after touches: created %v seen %v", got.CreatedAt, got.SeenAt)
	}

	// Prune: k2 idle since t0+1m (cut at t0+2h), k1 seen at t0+3h stays,
	// k3 created at t0+2h stays.
	n, err := db.PruneSessions(ctx, t0.Add(2*time.Hour), t0.Add(-time.Hour), t0)
	if err != nil || n != 1 {
		t.Fatalf("prune by idleness: %d, %v; want 1", n, err)
	}
	if _, ok, _ := db.Session(ctx, "k2"); ok {
		t.Error("idle session k2 survived the prune")
	}
	// Absolute: k1 created at t0 goes although it was seen lately.
	if n, err = db.PruneSessions(ctx, t0, t0.Add(time.Hour), t0); err != nil || n != 1 {
		t.Fatalf("prune by age: %d, %v; want 1", n, err)
	}
	if _, ok, _ := db.Session(ctx, "k1"); ok {
		t.Error("old session k1 survived the prune")
	}

	// Sign out everywhere: all of bob's sessions, nobody else's.
	for _, s := range []Session{mk("k4", "bob", t0.Add(2*time.Hour)), mk("k5", "ann", t0.Add(2*time.Hour))} {
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := db.DeleteSessionsOf(ctx, "bob"); err != nil || n != 2 {
		t.Fatalf("delete bob's sessions: %d, %v; want 2", n, err)
	}
	for key, want := range map[string]bool{"k3": false, "k4": false, "k5": true} {
		if _, ok, _ := db.Session(ctx, key); ok != want {
			t.Errorf("session %s present %v, want %v", key, ok, want)
		}
	}
	if err := db.DeleteSession(ctx, "k5"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.Session(ctx, "k5"); ok {
		t.Error("signed-out session k5 still there")
	}
}

func TestSignInFlowTakenOnce(t *testing.T) { dialects(t, testSignInFlow) }

func testSignInFlow(t *testing.T, db *DB) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f := SignInFlow{Key: "s1", Issuer: "corp", Nonce: "n", Verifier: "v", Next: "/console/deadletters", CreatedAt: t0}
	if err := db.CreateSignInFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	// Eight callbacks at once (two hubs, a reloaded tab): one takes it.
	var took atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, ok, err := db.TakeSignInFlow(ctx, "s1")
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				took.Add(1)
				if got != f {
					t.Errorf("took %+v, want %+v", got, f)
				}
			}
		})
	}
	wg.Wait()
	if took.Load() != 1 {
		t.Errorf("the flow was taken %d times, want once", took.Load())
	}
	// Old flows are pruned.
	if err := db.CreateSignInFlow(ctx, SignInFlow{Key: "s2", Issuer: "corp", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PruneSessions(ctx, t0, t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.TakeSignInFlow(ctx, "s2"); ok || err != nil {
		t.Errorf("pruned flow taken: %v %v", ok, err)
	}
}
