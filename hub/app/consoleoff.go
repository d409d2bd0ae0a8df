package app

import (
	"fmt"

	"github.com/reviewhub/reviewhub/hub/config"
)

// consoleOff says why the web console (and, without an admin token, the
// admin API) is off and how to turn it on: page is what "/" answers, hint
// the line logged at start (docs/web-console.md). Both "" when the console
// is on. addr is the hub's listener.
func consoleOff(cfg *config.Config, addr string) (page, hint string) {
	if cfg.ConsoleOn() {
		return "", ""
	}
	base := "http://" + addr
	if cfg.AdminToken == "" {
		hint = fmt.Sprintf("no admin token, so the web console and the admin API are off: set HUB_ADMIN_TOKEN (at least %d characters) "+
			"or admin_token in the config file and start again, e.g. HUB_ADMIN_TOKEN=$(openssl rand -hex 16) make run; "+
			"then sign in at %s/console/", config.MinAdminTokenLength, base)
		return fmt.Sprintf(`Reviewhub is running, but its web console and admin API are off: no admin token is set.

To turn them on, give the hub an admin token of at least %d characters and start it again, e.g.
    HUB_ADMIN_TOKEN=$(openssl rand -hex 16) make run
(or admin_token in the config file), then open %s/console/ and sign in with that token.

Without a token the hub still serves /healthz, /readyz, /metrics and the helpdesks' webhooks,
and runs the integrations of its config file.
`, config.MinAdminTokenLength, base), hint
	}
	if !cfg.Console.TokenSignIn() && len(cfg.Console.OIDC) == 0 {
		return `Reviewhub is running; its web console is off: the admin token does not sign in to it
(console.token_signin: false) and no OIDC issuer is configured (console.oidc, docs/operations.md).
The admin API is on under /api (Authorization: Bearer ADMIN_TOKEN).
`, "the web console is off (console.token_signin: false and no console.oidc); the admin API is on under /api"
	}
	return `Reviewhub is running; its web console is off (console.enabled: false in the config file).
The admin API is on under /api (Authorization: Bearer ADMIN_TOKEN). To use the console, remove
console.enabled: false (or set it to true) and start the hub again.
`, "the web console is off (console.enabled: false); the admin API is on under /api"
}
