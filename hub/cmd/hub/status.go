package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/statusview"
)

// status prints every app's health as the running hub computes it.
func status(cfg *config.Config, hubURL string, positional []string, stdout, stderr io.Writer, jsonOut bool) int {
	if len(positional) > 1 {
		fmt.Fprintln(stderr, "usage: hub status [INTEGRATION] [--config FILE] [--json] [--hub URL]")
		return 2
	}
	// A personal token (HUB_API_TOKEN, role viewer is enough) or the
	// admin token.
	token := os.Getenv("HUB_API_TOKEN")
	if token == "" {
		token = cfg.EffectiveAdminToken()
	}
	if token == "" {
		fmt.Fprintln(stderr, "hub status reads the hub's admin API: set HUB_API_TOKEN to a personal token (hub token create NAME --role viewer), or admin_token in the config or HUB_ADMIN_TOKEN")
		return 1
	}
	if hubURL == "" {
		hubURL = "http://" + localAddr(cfg.Listen)
	}
	only := ""
	if len(positional) == 1 {
		only = positional[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := statusview.Fetch(ctx, &http.Client{Timeout: 30 * time.Second}, hubURL, token, only)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if rows == nil {
			rows = []statusview.Row{}
		}
		_ = enc.Encode(rows)
	} else {
		statusview.Render(stdout, rows, time.Now())
	}
	return 0
}

// localAddr is an address to reach a hub listening on listen from this
// machine (a wildcard host becomes loopback).
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
