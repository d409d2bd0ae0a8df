package app

import (
	"log/slog"
	"reflect"
	"testing"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/console"
)

// The console's options from the config: the token only while it signs in,
// Secure cookies for an https public URL, the issuers with their rules in
// order, the sessions' timeouts.
func TestConsoleOptionsFromConfig(t *testing.T) {
	t.Setenv("REVIEWHUB_TEST_OIDC_SECRET", "from-the-environment")
	cfg, err := config.Parse("hub.yaml", []byte(`admin_token: 0123456789abcdef0123
public_url: https://reviews.acme.example
console:
  session_idle: 2h
  session_max_age: 24h
  oidc:
    - id: kc
      name: Acme SSO
      issuer: https://sso.acme.example/realms/acme
      client_id: reviewhub
      client_secret: ${REVIEWHUB_TEST_OIDC_SECRET}
      groups_claim: roles
      trust_unverified_email: true
      roles: [{group: /admins, role: admin}, {email_domain: acme.example, role: viewer}]
`))
	if err != nil {
		t.Fatal(err)
	}
	o := ConsoleOptions(cfg, nil, console.NewMemorySessions(), nil, slog.New(slog.DiscardHandler))
	if o.Token != cfg.AdminToken || !o.Secure || o.PublicURL != "https://reviews.acme.example" || o.SessionTTL.Hours() != 2 || o.SessionMaxAge.Hours() != 24 {
		t.Errorf("options %+v", o)
	}
	want := []console.OIDCIssuer{{ID: "kc", Name: "Acme SSO", Issuer: "https://sso.acme.example/realms/acme", ClientID: "reviewhub",
		ClientSecret: "from-the-environment", GroupsClaim: "roles", TrustUnverifiedEmail: true,
		Roles: []console.RoleRule{{Group: "/admins", Role: auth.RoleAdmin}, {EmailDomain: "acme.example", Role: auth.RoleViewer}}}}
	if !reflect.DeepEqual(o.OIDC, want) {
		t.Errorf("issuers %+v, want %+v", o.OIDC, want)
	}
	off := false
	cfg.Console.TokenSignin = &off
	if o := ConsoleOptions(cfg, nil, nil, nil, nil); o.Token != "" {
		t.Error("the admin token signs in with console.token_signin: false")
	}
}
