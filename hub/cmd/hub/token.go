package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/reviewhub/reviewhub/hub/app"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
)

// token manages personal API tokens in the state directly (no running hub
// or admin token needed: the way to the first token when the admin token
// is turned off). Each change is in the audit log as made by "cli".
func token(cfg *config.Config, args []string, role, expires string, stdout, stderr io.Writer, asJSON bool) int {
	usage := "usage: hub token create NAME --role viewer|agent|admin [--expires 720h|2027-01-31T00:00:00Z] | list [--json] | revoke ID"
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := app.OpenState(ctx, cfg, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	who := state.AuditEntry{Subject: "cli", Name: os.Getenv("USER"), Via: "cli", Client: "local"}
	switch {
	case args[0] == "create" && len(args) == 2:
		t, value, errs := httpapi.NewToken(httpapi.NewTokenJSON{Name: args[1], Role: role, Expires: expires}, time.Now())
		if len(errs) > 0 {
			for _, e := range errs {
				name := e.Field
				if name != "name" {
					name = "--" + name
				}
				fmt.Fprintf(stderr, "%s: %s\n", name, e.Reason)
			}
			return 2
		}
		t.CreatedBy = "cli"
		if err := db.CreateAPIToken(ctx, t, httpapi.HashToken(value)); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		e := who
		e.Kind, e.Action, e.Target = httpapi.KindToken, "create", t.ID
		e.Changes = []state.AuditChange{{Field: "name", To: t.Name}, {Field: "role", To: t.Role}}
		if !t.ExpiresAt.IsZero() {
			e.Changes = append(e.Changes, state.AuditChange{Field: "expires", To: t.ExpiresAt.Format(time.RFC3339)})
		}
		if err := db.AddAudit(ctx, e); err != nil {
			fmt.Fprintln(stderr, "the token is made, but its audit entry could not be written:", err)
		}
		if asJSON {
			return printJSON(stdout, httpapi.TokenJSON{APIToken: t, Token: value})
		}
		fmt.Fprintf(stdout, "token %s (%s, role %s) made; it is shown this once, keep it now:\n%s\n", t.ID, t.Name, t.Role, value)
		return 0
	case args[0] == "list" && len(args) == 1:
		list, err := db.APITokens(ctx)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if asJSON {
			return printJSON(stdout, list)
		}
		if len(list) == 0 {
			fmt.Fprintln(stdout, "no personal tokens")
			return 0
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tBY\tEXPIRES\tLAST USED")
		for _, t := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, day(t.CreatedAt), t.CreatedBy, orDash(t.ExpiresAt), orDash(t.LastUsedAt))
		}
		_ = tw.Flush()
		return 0
	case args[0] == "revoke" && len(args) == 2:
		t, err := db.DeleteAPIToken(ctx, args[1])
		if errors.Is(err, state.ErrNotFound) {
			fmt.Fprintf(stderr, "no token %q (see hub token list)\n", args[1])
			return 1
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		e := who
		e.Kind, e.Action, e.Target = httpapi.KindToken, "revoke", t.ID
		e.Changes = []state.AuditChange{{Field: "name", From: t.Name}, {Field: "role", From: t.Role}}
		if err := db.AddAudit(ctx, e); err != nil {
			fmt.Fprintln(stderr, "the token is revoked, but its audit entry could not be written:", err)
		}
		fmt.Fprintf(stdout, "token %s (%s) revoked\n", t.ID, t.Name)
		return 0
	}
	fmt.Fprintln(stderr, usage)
	return 2
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	return 0
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }

func orDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return day(t)
}
