package config

import (
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/reviewhub/reviewhub/hub/auth"
)

// Defaults of the console's sessions.
const (
	DefaultSessionIdle   = 12 * time.Hour
	DefaultSessionMaxAge = 7 * 24 * time.Hour
)

// validateConsole checks the sessions' timeouts and the OIDC issuers.
func (c *Config) validateConsole(add func(field, reason string)) {
	idle, maxAge := c.Console.SessionIdle, c.Console.SessionMaxAge
	if idle != 0 && idle < time.Minute {
		add("console.session_idle", fmt.Sprintf("%s is shorter than 1m", idle))
	}
	if maxAge != 0 && maxAge < time.Minute {
		add("console.session_max_age", fmt.Sprintf("%s is shorter than 1m", maxAge))
	}
	if idle == 0 {
		idle = DefaultSessionIdle
	}
	if maxAge == 0 {
		maxAge = DefaultSessionMaxAge
	}
	if maxAge < idle {
		add("console.session_max_age", fmt.Sprintf("%s is shorter than the idle timeout (console.session_idle, %s)", maxAge, idle))
	}
	seen := map[string]bool{}
	for i, o := range c.Console.OIDC {
		p := fmt.Sprintf("console.oidc[%d]", i)
		if !ValidID(o.ID) {
			add(p+".id", fmt.Sprintf("%q %s", o.ID, IDRule))
		} else if seen[o.ID] {
			add(p+".id", fmt.Sprintf("%q is declared twice", o.ID))
		}
		seen[o.ID] = true
		if o.Issuer == "" {
			add(p+".issuer", "is required: the issuer URL (e.g. https://accounts.google.com)")
		} else if err := HTTPURL(o.Issuer); err != nil {
			add(p+".issuer", err.Error())
		} else if u, _ := url.Parse(o.Issuer); u.Scheme != "https" && !loopback(u.Hostname()) {
			add(p+".issuer", "must be an https URL (http only on loopback, for tests)")
		}
		if o.ClientID == "" {
			add(p+".client_id", "is required (from the application registered at the issuer)")
		}
		if o.ClientSecret == "" {
			add(p+".client_secret", "is required: use ${VAR} with the secret in the environment")
		}
		if o.Timeout != 0 && o.Timeout < time.Second {
			add(p+".timeout", fmt.Sprintf("%s is shorter than 1s", o.Timeout))
		}
		if len(o.Roles) == 0 {
			add(p+".roles", "is required: nobody could sign in (rules mapping groups or email domains to viewer, agent or admin)")
		}
		for j, r := range o.Roles {
			rp := fmt.Sprintf("%s.roles[%d]", p, j)
			if (r.Group == "") == (r.EmailDomain == "") {
				add(rp, "needs exactly one of group and email_domain")
			}
			if _, err := auth.ParseRole(r.Role); err != nil {
				add(rp+".role", err.Error())
			}
		}
	}
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
