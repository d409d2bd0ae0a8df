package app

import (
	"log/slog"
	"strings"

	"github.com/reviewhub/reviewhub/hub/auth"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/console"
	"github.com/reviewhub/reviewhub/hub/internal/throttle"
)

// ConsoleOptions are the web console's options from the config: sessions
// kept in the state, the admin token (unless the console's token sign-in
// is off) and the OIDC issuers with their role rules.
func ConsoleOptions(cfg *config.Config, admin console.Admin, sessions console.SessionStore, failures *throttle.Limiter, log *slog.Logger) console.Options {
	o := console.Options{Admin: admin, Failures: failures, Logger: log, Sessions: sessions,
		Secure: strings.HasPrefix(cfg.PublicURL, "https://"), PublicURL: cfg.PublicURL,
		SessionTTL: cfg.Console.SessionIdle, SessionMaxAge: cfg.Console.SessionMaxAge}
	if cfg.Console.TokenSignIn() {
		o.Token = cfg.EffectiveAdminToken() // "" when admin_token_disabled
	}
	for _, is := range cfg.Console.OIDC {
		oi := console.OIDCIssuer{ID: is.ID, Name: is.Name, Issuer: is.Issuer, ClientID: is.ClientID, ClientSecret: is.ClientSecret,
			Scopes: is.Scopes, GroupsClaim: is.GroupsClaim, Timeout: is.Timeout, TrustUnverifiedEmail: is.TrustUnverifiedEmail}
		for _, r := range is.Roles {
			role, _ := auth.ParseRole(r.Role) // checked by config.Validate
			oi.Roles = append(oi.Roles, console.RoleRule{Group: r.Group, EmailDomain: r.EmailDomain, Role: role})
		}
		o.OIDC = append(o.OIDC, oi)
	}
	return o
}
