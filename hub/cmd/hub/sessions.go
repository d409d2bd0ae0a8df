package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/reviewhub/reviewhub/hub/app"
	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
)

const sessionsUsage = "usage: hub sessions revoke SUBJECT | hub sessions revoke --all"

// sessions ends web console sessions in the state directly: every session
// of one subject (admin, oidc:ISSUER#SUB) or all of them, on every hub of
// the state at once. Audited as made by "cli".
func sessions(cfg *config.Config, args []string, all bool, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "revoke" || (all && len(args) != 1) || (!all && (len(args) != 2 || args[1] == "")) {
		fmt.Fprintln(stderr, sessionsUsage)
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
	var n int64
	target := "all"
	if all {
		n, err = db.DeleteAllSessions(ctx)
	} else {
		target = args[1]
		n, err = db.DeleteSessionsOf(ctx, target)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	e := state.AuditEntry{Subject: "cli", Name: os.Getenv("USER"), Via: "cli", Client: "local", Kind: httpapi.KindSignIn,
		Action: "sessions_revoke", Target: target, Changes: []state.AuditChange{{Field: "sessions ended", To: strconv.FormatInt(n, 10)}}}
	if err := db.AddAudit(ctx, e); err != nil {
		fmt.Fprintln(stderr, "the sessions are ended, but the audit entry could not be written:", err)
	}
	fmt.Fprintf(stdout, "%d console sessions ended (%s)\n", n, target)
	return 0
}
