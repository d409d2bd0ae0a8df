// Package webhooks delivers the hub's events (hub/events) to outbound
// webhook endpoints, signed per the Standard Webhooks specification
// (https://www.standardwebhooks.com, docs/events.md): at least once, from
// the outbox, with a retry schedule over days, one hub per delivery.
package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/hub/config"
)

// SecretPrefix starts every endpoint secret: whsec_ and the base64 of
// the key (the specification's serialization of a symmetric key).
const SecretPrefix = "whsec_"

// The headers of a signed delivery.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretBytes is the size of a generated key (the specification allows
// 24 to 64 bytes).
const secretBytes = 32

// NewSecret returns a new random endpoint secret (whsec_…).
func NewSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ParseSecret returns the key of a whsec_ secret (config.WebhookSecret
// checks it: standard base64 of 24 to 64 bytes); the error says what is
// wrong, never the secret.
func ParseSecret(secret string) ([]byte, error) {
	if err := config.WebhookSecret(secret); err != nil {
		return nil, fmt.Errorf("the secret %w", err)
	}
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
}

// Sign is the webhook-signature value of a delivery: "v1," and the base64
// HMAC-SHA256, with the key of secret, of "id.timestamp.body" (timestamp
// in Unix seconds).
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := ParseSecret(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(timestamp.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}
