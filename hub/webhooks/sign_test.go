package webhooks

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The specification's published test vector (libraries/go/webhook_test.go
// TestWebhookSign, the same in every library of
// github.com/standard-webhooks/standard-webhooks).
func TestOutboundWebhookSignatureMatchesTheSpecificationsTestVector(t *testing.T) {
	got, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
}

// A generated secret signs what the specification's own Go library
// verifies, and a changed body, id or timestamp does not verify.
func TestOutboundWebhookSignatureVerifiesWithTheSpecificationsLibrary(t *testing.T) {
	secret := NewSecret()
	if _, err := ParseSecret(secret); err != nil {
		t.Fatalf("a new secret does not parse: %v", err)
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"review.created","timestamp":"2026-12-08T00:00:00Z","data":{}}`)
	now := time.Now()
	sig, err := Sign(secret, "evt_1", now, body)
	if err != nil {
		t.Fatal(err)
	}
	headers := func(id string, ts time.Time) http.Header {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
		h.Set(HeaderSignature, sig)
		return h
	}
	if err := wh.Verify(body, headers("evt_1", now)); err != nil {
		t.Errorf("the library refuses the signature: %v", err)
	}
	if err := wh.Verify([]byte(strings.Replace(string(body), "created", "updated", 1)), headers("evt_1", now)); err == nil {
		t.Error("a changed body verifies")
	}
	if err := wh.Verify(body, headers("evt_2", now)); err == nil {
		t.Error("another id verifies")
	}
	if err := wh.Verify(body, headers("evt_1", now.Add(-time.Second))); err == nil {
		t.Error("another timestamp verifies")
	}
}

func TestOutboundWebhookSecretsAreChecked(t *testing.T) {
	for _, s := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="} {
		if _, err := ParseSecret(s); err == nil {
			t.Errorf("%q accepted", s)
		} else if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}
