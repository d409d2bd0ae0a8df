package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The packaged unit's hardening bound: systemd-analyze security's exposure
// (0–100, shown as 0.0–10.0; the unit scores 3.2, "OK"). Loosening the
// hardening past it fails the test.
const maxExposure = "35"

// systemdAnalyze finds systemd-analyze (Debian: systemd; .ci/run installs
// it); without it the test is skipped, except in CI (CI=true).
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is needed in CI to check the packaged unit (Debian: systemd)")
		}
		t.Skip("systemd-analyze not found (Debian: systemd): the packaged unit is not checked")
	}
	return p
}

// unitWith writes the packaged unit with ExecStart's /usr/bin/hub moved to
// an executable that exists here (verify checks it), then edit applied.
func unitWith(t *testing.T, edit func(string) string) string {
	t.Helper()
	b, err := os.ReadFile("deb/reviewhub.service")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hub := filepath.Join(dir, "hub")
	if err := os.WriteFile(hub, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit := strings.ReplaceAll(string(b), "ExecStart=/usr/bin/hub ", "ExecStart="+hub+" ")
	if unit == string(b) {
		t.Fatal("deb/reviewhub.service has no ExecStart=/usr/bin/hub")
	}
	path := filepath.Join(dir, "reviewhub.service")
	if err := os.WriteFile(path, []byte(edit(unit)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The packaged systemd unit passes systemd-analyze verify with nothing to
// say, and its hardening keeps the exposure systemd-analyze security gives
// it offline at most maxExposure; the same unit without its hardening does
// not (the check can fail). scripts/deb-test.sh runs both on the unit the
// .deb installs.
func TestSystemdUnit(t *testing.T) {
	sa := systemdAnalyze(t)
	unit := unitWith(t, func(s string) string { return s })
	if out, err := exec.Command(sa, "verify", unit).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	security := func(unit string) (string, error) {
		out, err := exec.Command(sa, "security", "--offline=yes", "--threshold="+maxExposure, unit).CombinedOutput()
		return string(out), err
	}
	out, err := security(unit)
	level := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+ \S+)`).FindStringSubmatch(out)
	if err != nil || level == nil {
		t.Errorf("systemd-analyze security --offline=yes --threshold=%s: %v\n%s", maxExposure, err, out)
	} else {
		t.Logf("exposure: %s", level[1])
	}
	// Without its hardening section the unit is over the bound.
	weak := unitWith(t, func(s string) string {
		head, _, _ := strings.Cut(s, "# Hardening:")
		_, tail, _ := strings.Cut(s, "[Install]")
		return head + "[Install]" + tail
	})
	if out, err := security(weak); err == nil {
		t.Errorf("the unit without its hardening passes the exposure bound %s:\n%s", maxExposure, out)
	}
}
