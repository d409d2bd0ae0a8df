package omnidesk

import (
	"strings"
	"testing"
)

func TestRedactSecretHidesEverySecretLookingValue(t *testing.T) {
	got := redactSecret("https://u:pw@hub.example/hooks/omnidesk/acme?secret=S1&token=S2&api_key=S3&signature=S4&page=2")
	for _, leak := range []string{"S1", "S2", "S3", "S4", "pw"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q kept in %s", leak, got)
		}
	}
	if !strings.Contains(got, "page=2") || !strings.Contains(got, "hub.example/hooks/omnidesk/acme") {
		t.Errorf("too much removed: %s", got)
	}
}
