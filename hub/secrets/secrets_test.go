package secrets

import (
	"bytes"
	"path/filepath"
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
