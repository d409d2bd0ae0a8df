package sdktest

import "testing"

func TestSecretLooking(t *testing.T) {
	for key, want := range map[string]bool{
		"api_token": true, "webhook_secret": true, "password": true, "api_key": true, "private_key": true, "apiKey": true,
		"clientSecret": true, "service-token": true, "key_id": false, "issuer_id": false, "subdomain": false,
		"keyboard": false, "key": false, "token_url": false, "secret_key": true, "APIToken": true, "base_url": false, "webhook_tolerance": false, "secretary": false,
	} {
		if got := secretLooking(key); got != want {
			t.Errorf("secretLooking(%q) = %v, want %v", key, got, want)
		}
	}
}
