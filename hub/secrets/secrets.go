// Package secrets seals account settings (credentials) at rest with AES-256-GCM.
package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of a sealing key in bytes.
const KeySize = 32

// Sealer encrypts and decrypts small values. It seals with its key and
// opens what that key or one of its accepted keys sealed (during a key
// rotation, docs/operations.md).
type Sealer struct {
	aead     cipher.AEAD
	accepted []cipher.AEAD
}

// New returns a Sealer for a 32-byte key that also opens what the accepted
// keys sealed.
func New(key []byte, accepted ...[]byte) (*Sealer, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	s := &Sealer{aead: aead}
	for _, k := range accepted {
		a, err := newAEAD(k)
		if err != nil {
			return nil, fmt.Errorf("accepted %w", err)
		}
		s.accepted = append(s.accepted, a)
	}
	return s, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key: want %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return aead, nil
}

// NewKey returns a new random key.
func NewKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate secret key: %w", err)
	}
	return key, nil
}

// EncodeKey is the base64 form of a key, as ParseKey reads it.
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// ParseKey decodes a base64 (standard or URL) encoded 32-byte key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, &KeyError{Reason: fmt.Sprintf("want %d bytes base64-encoded, got %d bytes", KeySize, len(k))}
			}
			return k, nil
		}
	}
	return nil, &KeyError{Reason: "not valid base64"}
}

// KeyError is a secret key that ParseKey refuses; Reason says why, for a
// message that names the key's field itself.
type KeyError struct {
	Reason string
}

func (e *KeyError) Error() string { return "secret key: " + e.Reason }

// LoadOrCreateKeyFile reads a base64 key from path, creating it (mode 0600)
// with a random key when it does not exist.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return ParseKey(string(b))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret key file: %w", err)
	}
	key, err := NewKey()
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create secret key dir: %w", err)
	}
	// Durable before anything is sealed with it: the key is written and
	// synced under a temporary name, then linked into place (which fails
	// if another process created the file meanwhile: its key is the one),
	// and the directory synced. A crash leaves no file or a whole one.
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".new-*")
	if err != nil {
		return nil, fmt.Errorf("write secret key file: %w", err)
	}
	tmpPath := tmp.Name()
	_ = tmp.Close()
	defer os.Remove(tmpPath)
	if err := writeKeyFile(tmpPath, key); err != nil {
		return nil, err
	}
	if err := os.Link(tmpPath, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return LoadOrCreateKeyFile(path)
		}
		return nil, fmt.Errorf("write secret key file: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return key, nil
}

// Seal encrypts plaintext; the nonce is prepended.
func (s *Sealer) Seal(plaintext []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plaintext, nil), nil
}

// Open decrypts what Seal produced, with the key or an accepted one.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	out, _, err := s.OpenCurrent(sealed)
	return out, err
}

// OpenCurrent is Open that also reports whether the value is sealed with
// the Sealer's key (false: with an accepted one; re-seal it to rotate).
func (s *Sealer) OpenCurrent(sealed []byte) (plaintext []byte, current bool, err error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, false, errors.New("open sealed value: too short")
	}
	for i, aead := range append([]cipher.AEAD{s.aead}, s.accepted...) {
		if out, err := aead.Open(nil, sealed[:n], sealed[n:], nil); err == nil {
			return out, i == 0, nil
		}
	}
	return nil, false, errors.New("open sealed value: wrong secret key or corrupted data")
}

// PreviousKeyFile is where RotateKeyFile keeps the key of the key file at
// path that it replaced, until the rotation is finished: a Sealer made from
// the key file accepts it meanwhile.
func PreviousKeyFile(path string) string { return path + ".previous" }

// RotateKeyFile replaces the key in the key file at path with a new one,
// keeping the old one in PreviousKeyFile(path), and returns both. When a
// rotation is unfinished (PreviousKeyFile holds another key) it changes
// nothing and returns the two keys to finish it with. Every step leaves
// files from which both keys are read: the old key is saved before the new
// one replaces it (atomically, by rename).
func RotateKeyFile(path string) (key, previous []byte, err error) {
	read := func(p string) ([]byte, error) {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		return ParseKey(string(b))
	}
	old, err := read(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read secret key file: %w", err)
	}
	prevPath := PreviousKeyFile(path)
	prev, err := read(prevPath)
	switch {
	case err == nil && !bytes.Equal(prev, old):
		return old, prev, nil // unfinished: the new key is in place
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, nil, fmt.Errorf("read previous secret key file: %w", err)
	}
	// The old key's file is on disk, its name included, before the new key
	// can replace it: a crash in between leaves both keys readable.
	if err := writeKeyFile(prevPath, old); err != nil {
		return nil, nil, err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, nil, err
	}
	key, err = NewKey()
	if err != nil {
		return nil, nil, err
	}
	next := path + ".next"
	if err := writeKeyFile(next, key); err != nil {
		return nil, nil, err
	}
	if err := os.Rename(next, path); err != nil {
		return nil, nil, fmt.Errorf("replace secret key file: %w", err)
	}
	// The rename is durable before values are sealed with the new key.
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, nil, err
	}
	return key, old, nil
}

// syncDir flushes a directory's entries (a file created, renamed or
// removed in it) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync secret key directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync secret key directory %s: %w", dir, err)
	}
	return nil
}

// FinishKeyFileRotation forgets the previous key once every value is
// sealed with the new one.
func FinishKeyFileRotation(path string) error {
	if err := os.Remove(PreviousKeyFile(path)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove previous secret key file: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// writeKeyFile writes a key file (0600) and syncs it to disk.
func writeKeyFile(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write secret key file: %w", err)
	}
	_, err = f.WriteString(EncodeKey(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write secret key file: %w", err)
	}
	return nil
}
