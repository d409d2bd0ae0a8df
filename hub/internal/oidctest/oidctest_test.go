package oidctest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// authorize runs /authorize as a browser would and returns the redirect's query.
func authorize(t *testing.T, cfg *oauth2.Config, opts ...oauth2.AuthCodeOption) url.Values {
	t.Helper()
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(cfg.AuthCodeURL("st", opts...))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d %v", resp.StatusCode, err)
	}
	return loc.Query()
}

// The issuer as go-oidc and x/oauth2 see it: discovery, a code for the
// user, the code exchanged once with the verifier and the secret, an ID
// token that verifies with the nonce, email and groups; and each mistake
// refused.
func TestIssuer(t *testing.T) {
	is, err := Start("", "client-1", "secret-1")
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	is.SetUser(User{Subject: "u42", Email: "bob@acme.example", Groups: []string{"support"}})
	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, is.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &oauth2.Config{ClientID: "client-1", ClientSecret: "secret-1", Endpoint: p.Endpoint(), RedirectURL: "http://127.0.0.1:1/cb",
		Scopes: []string{oidc.ScopeOpenID}}
	verifier := oauth2.GenerateVerifier()
	q := authorize(t, cfg, oidc.Nonce("n-1"), oauth2.S256ChallengeOption(verifier))
	if q.Get("state") != "st" || q.Get("code") == "" {
		t.Fatalf("redirect back: %v", q)
	}
	if _, err := (&oauth2.Config{ClientID: "client-1", ClientSecret: "wrong", Endpoint: p.Endpoint(), RedirectURL: cfg.RedirectURL}).
		Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); !isOAuthError(err, "invalid_client") {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); !isOAuthError(err, "invalid_grant") {
		t.Errorf("wrong verifier: %v", err)
	}
	// The code was used up by the wrong verifier: a fresh one.
	q = authorize(t, cfg, oidc.Nonce("n-1"), oauth2.S256ChallengeOption(verifier))
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: "client-1"}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var cl struct {
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
	}
	if err := idt.Claims(&cl); err != nil || idt.Nonce != "n-1" || idt.Subject != "u42" || cl.Email != "bob@acme.example" || len(cl.Groups) != 1 {
		t.Errorf("ID token: nonce %q sub %q claims %+v %v", idt.Nonce, idt.Subject, cl, err)
	}
	if _, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); !isOAuthError(err, "invalid_grant") {
		t.Errorf("a code used twice: %v", err)
	}
	// No PKCE: refused at /authorize.
	if q := authorize(t, cfg, oidc.Nonce("n")); q.Get("error") != "invalid_request" {
		t.Errorf("authorize without PKCE: %v", q)
	}
	is.Refuse("access_denied")
	if q := authorize(t, cfg, oauth2.S256ChallengeOption(verifier)); q.Get("error") != "access_denied" || q.Get("state") != "st" {
		t.Errorf("refused sign-in: %v", q)
	}
}

func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}
