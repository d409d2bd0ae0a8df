package rategate

import (
	"sync"
	"testing"
	"time"
)

func TestHoldAndWaitPerAccount(t *testing.T) {
	var g Gate
	if d := g.Wait("a"); d != 0 {
		t.Fatalf("a fresh gate holds a: %v", d)
	}
	g.Hold("a", time.Hour)
	if d := g.Wait("a"); d <= 59*time.Minute || d > time.Hour {
		t.Errorf("a waits %v after a hold of 1h", d)
	}
	if d := g.Wait("b"); d != 0 {
		t.Errorf("b waits %v: holds are per account", d)
	}
	// A shorter hold does not cut the longer one short; a longer one extends it.
	g.Hold("a", time.Minute)
	if d := g.Wait("a"); d <= 59*time.Minute {
		t.Errorf("a waits %v after a shorter hold", d)
	}
	g.Hold("a", 2*time.Hour)
	if d := g.Wait("a"); d <= time.Hour {
		t.Errorf("a waits %v after a hold of 2h", d)
	}
	// A hold that is over (here: one of no length) lets calls go.
	g.Hold("c", -time.Second)
	g.Hold("c", 0)
	if d := g.Wait("c"); d != 0 {
		t.Errorf("c waits %v after holds of no length", d)
	}
}

func TestNilGateKeepsNothing(t *testing.T) {
	var g *Gate
	g.Hold("a", time.Hour)
	if d := g.Wait("a"); d != 0 {
		t.Errorf("a nil gate holds: %v", d)
	}
}

func TestConcurrentUse(t *testing.T) {
	var g Gate
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				g.Hold("a", time.Duration(i+1)*time.Minute)
				_ = g.Wait("a")
			}
		}()
	}
	wg.Wait()
	if d := g.Wait("a"); d <= 7*time.Minute {
		t.Errorf("a waits %v, want the longest hold (8m)", d)
	}
}
