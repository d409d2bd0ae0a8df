package auth

import (
	"context"
	"testing"
)

func TestRolesAreOrdered(t *testing.T) {
	cases := []struct {
		have, need Role
		want       bool
	}{
		{RoleViewer, RoleViewer, true},
		{RoleViewer, RoleAgent, false},
		{RoleAgent, RoleViewer, true},
		{RoleAgent, RoleAdmin, false},
		{RoleAdmin, RoleAgent, true},
		{RoleNone, RoleViewer, false},
		{RoleAdmin, RoleNone, false},
	}
	for _, c := range cases {
		if got := c.have.Allows(c.need); got != c.want {
			t.Errorf("%s.Allows(%s) = %v, want %v", c.have, c.need, got, c.want)
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range []Role{RoleViewer, RoleAgent, RoleAdmin} {
		got, err := ParseRole(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %v, %v", r.String(), got, err)
		}
	}
	for _, bad := range []string{"", "none", "Admin", "root"} {
		if _, err := ParseRole(bad); err == nil {
			t.Errorf("ParseRole(%q) accepted", bad)
		}
	}
}

func TestPrincipalInContext(t *testing.T) {
	if _, ok := From(context.Background()); ok {
		t.Fatal("empty context carries a principal")
	}
	p := Principal{Subject: "token:7", Name: "ci", Role: RoleAgent, Via: ViaAPIToken}
	got, ok := From(With(context.Background(), p))
	if !ok || got != p {
		t.Fatalf("From(With(p)) = %+v, %v", got, ok)
	}
}
