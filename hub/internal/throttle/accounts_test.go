package throttle

import (
	"testing"
	"time"
)

// Many clients guessing one account together are refused once the account
// saw its failures, but a client that signed in to it before is not: the
// guessers cannot lock out the account's people, and guessing stays slow.
func TestAccountsSlowDistributedGuessingWithoutLockingOutKnownClients(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := NewAccounts(AccountOptions{Failures: 5, Window: time.Minute, Remember: time.Hour, Now: func() time.Time { return now }})
	a.Succeeded("admin_token", "10.0.0.1") // the admin, earlier
	for i := range 5 {
		client := "192.0.2." + string(rune('1'+i))
		if _, blocked := a.Blocked("admin_token", client); blocked {
			t.Fatalf("guess %d refused before the account's limit", i)
		}
		a.Fail("admin_token")
	}
	if wait, blocked := a.Blocked("admin_token", "192.0.2.99"); !blocked || wait != time.Minute {
		t.Fatalf("a new client after the account's limit: blocked %v, wait %v", blocked, wait)
	}
	if _, blocked := a.Blocked("admin_token", "10.0.0.1"); blocked {
		t.Fatal("the known client is locked out by others' failures")
	}
	if _, blocked := a.Blocked("token:x", "192.0.2.99"); blocked {
		t.Fatal("another account is refused for this one's failures")
	}
	now = now.Add(time.Minute)
	if _, blocked := a.Blocked("admin_token", "192.0.2.99"); blocked {
		t.Fatal("still refused after the window")
	}
	now = now.Add(time.Hour)
	a.Fail("admin_token")
	a.Fail("admin_token")
	a.Fail("admin_token")
	a.Fail("admin_token")
	a.Fail("admin_token")
	if _, blocked := a.Blocked("admin_token", "10.0.0.1"); !blocked {
		t.Fatal("a client is known beyond Remember")
	}
}

func TestAccountsKnownTableIsBounded(t *testing.T) {
	a := NewAccounts(AccountOptions{MaxKeys: 3})
	for _, c := range []string{"a", "b", "c", "d"} {
		a.Succeeded("acct", c)
	}
	if len(a.known) != 3 || a.isKnown("acct", "a") || !a.isKnown("acct", "d") {
		t.Fatalf("known %d pairs; a %v, d %v", len(a.known), a.isKnown("acct", "a"), a.isKnown("acct", "d"))
	}
}
