// Package auth names who is calling the hub and what they may do: a
// Principal with a Role, carried in the request's context from the surface
// that identified it (the API's bearer check, the console's session) to the
// code that enforces the role and records the change in the audit log.
//
// It decides nothing about how a caller proves who they are; that belongs to
// the surfaces (httpapi, console) and their sign-in methods.
package auth

import (
	"context"
	"fmt"
)

// Role is what a principal may do. Roles are ordered: each allows what the
// ones below it allow.
type Role int

const (
	// RoleNone allows nothing; it is the zero value so that a principal
	// nobody gave a role cannot do anything.
	RoleNone Role = iota
	// RoleViewer reads everything but secrets.
	RoleViewer
	// RoleAgent also approves drafts and retries answers and dead letters.
	RoleAgent
	// RoleAdmin also changes integrations, automation, alerts and tokens.
	RoleAdmin
)

var roleNames = [...]string{RoleNone: "none", RoleViewer: "viewer", RoleAgent: "agent", RoleAdmin: "admin"}

// String returns the role's name as written in configuration and the API.
func (r Role) String() string {
	if r < 0 || int(r) >= len(roleNames) {
		return fmt.Sprintf("Role(%d)", int(r))
	}
	return roleNames[r]
}

// ParseRole reads a role's name ("viewer", "agent", "admin").
func ParseRole(s string) (Role, error) {
	for r, name := range roleNames {
		if r != int(RoleNone) && name == s {
			return Role(r), nil
		}
	}
	return RoleNone, fmt.Errorf("unknown role %q: want viewer, agent or admin", s)
}

// Allows reports whether a principal with role r may do what needs role need.
func (r Role) Allows(need Role) bool { return need != RoleNone && r >= need }

// Via is how a principal proved who they are.
type Via string

const (
	ViaAdminToken Via = "admin_token" // the configured shared admin token
	ViaAPIToken   Via = "api_token"   // a personal API token
	ViaSession    Via = "session"     // a console session (admin token or OIDC sign-in)
	ViaSystem     Via = "system"      // the hub itself (config file, automation)
)

// Principal is who is calling.
type Principal struct {
	// Subject identifies the principal for the audit log: an OIDC
	// subject ("oidc:ISSUER#SUB"), "token:ID" for a personal token, or
	// "admin" for the shared admin token.
	Subject string
	// Name is what people see: an email, a token's name.
	Name string
	Role Role
	Via  Via
}

type ctxKey struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal ctx carries, if any.
func From(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

type clientKey struct{}

// WithClient returns ctx carrying where the request came from (the
// client's address), for the audit log.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// Client returns the client address ctx carries ("" when none).
func Client(ctx context.Context) string {
	s, _ := ctx.Value(clientKey{}).(string)
	return s
}

// Needs is the refusal of an action to a principal whose role does not
// allow it: it names the role needed and the one held.
func Needs(p Principal, need Role) string {
	who := p.Name
	if who == "" {
		who = p.Subject
	}
	return fmt.Sprintf("this needs the role %s; %s has the role %s", need, who, p.Role)
}
