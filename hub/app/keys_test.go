package app

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/secrets"
)

// A hub's sealer opens what the accepted keys sealed and, with a key file,
// what the key an unfinished rotation replaced sealed; it seals with its
// own key.
func TestSealerAcceptsKeysDuringARotation(t *testing.T) {
	oldKey, newKey, otherKey := bytes.Repeat([]byte{5}, secrets.KeySize), bytes.Repeat([]byte{6}, secrets.KeySize), bytes.Repeat([]byte{7}, secrets.KeySize)
	sealWith := func(key []byte) []byte {
		s, _ := secrets.New(key)
		b, err := s.Seal([]byte("v"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dir := t.TempDir()
	cfg := &config.Config{DataDir: dir, AcceptedSecretKeys: secrets.EncodeKey(otherKey)}
	if err := os.WriteFile(KeyFile(cfg), []byte(secrets.EncodeKey(newKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secrets.PreviousKeyFile(KeyFile(cfg)), []byte(secrets.EncodeKey(oldKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sealer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string][]byte{"previous key file": oldKey, "accepted key": otherKey, "key": newKey} {
		if _, current, err := s.OpenCurrent(sealWith(key)); err != nil || current != (name == "key") {
			t.Errorf("%s: current %v, %v", name, current, err)
		}
	}
	sealed, _ := s.Seal([]byte("v"))
	if _, current, err := s.OpenCurrent(sealed); err != nil || !current {
		t.Errorf("sealed with another key than the key file's: %v", err)
	}
	// With secret_key configured, the key file's previous key is not used.
	cfg.SecretKey = secrets.EncodeKey(newKey)
	if s, err = sealer(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(sealWith(oldKey)); err == nil {
		t.Error("secret_key configured: the key file's previous key accepted")
	}
	cfg.AcceptedSecretKeys = "c2hvcnQ="
	if _, err := sealer(cfg); err == nil {
		t.Error("a short accepted key")
	}
	if _, err := os.Stat(filepath.Join(dir, "secret.key")); err != nil {
		t.Fatal(err)
	}
}

// A hub serving with the data dir's key file holds its lock: a rotation of
// the file refuses while it runs, whatever address the hub listens on, and
// a hub does not start while a rotation holds it.
func TestKeyFileRotationRefusedWhileAHubHoldsTheKey(t *testing.T) {
	dir := t.TempDir()
	cfg := &config.Config{DataDir: dir}
	if _, err := secrets.LoadOrCreateKeyFile(KeyFile(cfg)); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(KeyFile(cfg))
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := lockKeyFile(cfg, false) // as a serving hub
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RotateKey(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("rotation beside a running hub: %v", err)
	}
	if after, _ := os.ReadFile(KeyFile(cfg)); !bytes.Equal(before, after) {
		t.Fatal("the refused rotation changed the key file")
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	rotating, err := lockKeyFile(cfg, true) // as a rotation
	if err != nil {
		t.Fatal(err)
	}
	defer rotating()
	if _, err := lockKeyFile(cfg, false); !errors.Is(err, ErrKeyInUse) {
		t.Fatalf("a hub's lock during a rotation: %v", err)
	}
}
