package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/reviewhub/reviewhub/hub/app"
	"github.com/reviewhub/reviewhub/hub/config"
)

// rotateKey re-seals every stored secret with the hub's (new) key and
// prints counts, never a key or a secret.
func rotateKey(cfg *config.Config, stdout, stderr io.Writer) int {
	if cfg.SecretKey == "" && hubAnswers(cfg) {
		fmt.Fprintf(stderr, "the hub answers at %s: stop it first (a new key is generated into %s, which a running hub would not know; "+
			"or rotate without stopping with secret_key and accepted_secret_keys: docs/operations.md, \"Key rotation\")\n", cfg.Listen, app.KeyFile(cfg))
		return 1
	}
	r, err := app.RotateKey(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if r.NewKeyFile {
		fmt.Fprintf(stdout, "new secret key in %s\n", app.KeyFile(cfg))
	}
	fmt.Fprintf(stdout, "re-sealed %d secret(s) with the new key; %d were sealed with it already\n", r.Resealed, r.Current)
	switch {
	case r.Changed > 0:
		fmt.Fprintf(stdout, "%d changed while being re-sealed: run hub rotate-key again\n", r.Changed)
		return 1
	case r.Finished:
		fmt.Fprintln(stdout, "done: the previous key is forgotten")
	case cfg.AcceptedSecretKeys != "":
		fmt.Fprintln(stdout, "done: remove accepted_secret_keys (HUB_ACCEPTED_SECRET_KEYS) and restart the hubs")
	}
	return 0
}

// hubAnswers reports whether a hub answers at the config's listen address.
func hubAnswers(cfg *config.Config) bool {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + localAddr(cfg.Listen) + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
