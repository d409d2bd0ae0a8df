package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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
	if cfg.AdminToken == "" {
		fmt.Fprintln(stderr, "hub status reads the hub's admin API: set admin_token in the config or HUB_ADMIN_TOKEN")
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
	rows, err := statusview.Fetch(ctx, &http.Client{Timeout: 30 * time.Second}, hubURL, cfg.AdminToken, only)
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
