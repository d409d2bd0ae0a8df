package secrets

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key, err := LoadOrCreateKeyFile(filepath.Join(t.TempDir(), "k"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal([]byte("api-key-123"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("api-key-123")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := s.Open(sealed)
	if err != nil || string(got) != "api-key-123" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := New(bytes.Repeat([]byte{1}, KeySize))
	if _, err := other.Open(sealed); err == nil {
		t.Fatal("opened with the wrong key")
	}
}

func TestKeyFileIsStable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "k")
	a, err := LoadOrCreateKeyFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateKeyFile(p)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("second load differs: %v", err)
	}
	if _, err := ParseKey("c2hvcnQ="); err == nil {
		t.Fatal("short key accepted")
	}
}

// A Sealer opens what its accepted keys sealed and says so; it seals with
// its own key only.
func TestAcceptedKeys(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize)
	old, _ := New(oldKey)
	sealedOld, _ := old.Seal([]byte("v"))
	s, err := New(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if out, current, err := s.OpenCurrent(sealedOld); err != nil || current || string(out) != "v" {
		t.Fatalf("old value: %q %v %v", out, current, err)
	}
	sealedNew, _ := s.Seal([]byte("v"))
	if _, current, err := s.OpenCurrent(sealedNew); err != nil || !current {
		t.Fatalf("new value: %v %v", current, err)
	}
	if _, err := old.Open(sealedNew); err == nil {
		t.Fatal("sealed with an accepted key")
	}
	if _, err := New(newKey, []byte("short")); err == nil {
		t.Fatal("a short accepted key")
	}
}

// RotateKeyFile puts a new key in place and keeps the old one until the
// rotation is finished; run again before that, it changes nothing.
func TestRotateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	old, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key, prev, err := RotateKeyFile(path)
	if err != nil || !bytes.Equal(prev, old) || bytes.Equal(key, old) {
		t.Fatalf("rotate: %v", err)
	}
	if cur, _ := LoadOrCreateKeyFile(path); !bytes.Equal(cur, key) {
		t.Fatal("the key file does not hold the new key")
	}
	again, prev2, err := RotateKeyFile(path)
	if err != nil || !bytes.Equal(again, key) || !bytes.Equal(prev2, old) {
		t.Fatalf("an unfinished rotation was not continued: %v", err)
	}
	if err := FinishKeyFileRotation(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(PreviousKeyFile(path)); !os.IsNotExist(err) {
		t.Fatalf("previous key kept: %v", err)
	}
	// Interrupted after the old key was saved, before the swap: a new key.
	if err := writeKeyFile(PreviousKeyFile(path), key); err != nil {
		t.Fatal(err)
	}
	next, prev3, err := RotateKeyFile(path)
	if err != nil || !bytes.Equal(prev3, key) || bytes.Equal(next, key) {
		t.Fatalf("rotation after an interrupted one: %v", err)
	}
}

// Hubs starting together on one data directory end with one key: each
// writes its candidate under a temporary name and links it into place, so
// the first wins, the others read it, and no temporary file is left.
func TestKeyFileCreatedOnceByConcurrentStarts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.key")
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for i, k := range keys {
		if !bytes.Equal(k, keys[0]) {
			t.Fatalf("start %d got another key than start 0", i)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("directory holds %v (%v), want the key file alone", entries, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", st, err)
	}
}
