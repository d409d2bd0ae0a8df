package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make image and make deb package the release folder only if it was built
// from the sources as they are now (scripts/source-stamp.sh): a folder with
// no stamp, or with another tree's, is refused before anything is packaged,
// and the Makefile then builds it again.
func TestStaleReleaseIsNotPackaged(t *testing.T) {
	stamp, err := exec.Command("../scripts/source-stamp.sh").Output()
	if err != nil {
		t.Fatalf("source-stamp.sh: %v", err)
	}
	if len(strings.TrimSpace(string(stamp))) != 64 {
		t.Fatalf("source-stamp.sh printed %q, not a SHA-256", stamp)
	}
	rel := filepath.Join(t.TempDir(), "reviewhub_v0.0.0_linux_amd64")
	if err := os.MkdirAll(filepath.Join(rel, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rel, "bin", "hub"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A stand-in nfpm that says it was called: the check passed.
	nfpm := filepath.Join(t.TempDir(), "nfpm")
	if err := os.WriteFile(nfpm, []byte("#!/bin/sh\necho nfpm called >&2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(script string) (string, error) {
		cmd := exec.Command("../scripts/"+script, rel)
		cmd.Env = append(os.Environ(), "NFPM="+nfpm)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, c := range []struct {
		name, stamp, want string
	}{
		{"never stamped", "", "was not built by scripts/release.sh here"},
		{"built from other sources", strings.Repeat("0", 64) + "\n", "is stale: the sources changed since it was built"},
	} {
		os.Remove(rel + ".source")
		if c.stamp != "" {
			if err := os.WriteFile(rel+".source", []byte(c.stamp), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, script := range []string{"deb.sh", "image.sh"} {
			out, err := run(script)
			if err == nil || !strings.Contains(out, c.want) || strings.Contains(out, "nfpm called") {
				t.Errorf("%s, %s: %v\n%s\nwant a refusal: %q", c.name, script, err, out, c.want)
			}
		}
	}
	if err := os.WriteFile(rel+".source", stamp, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run("deb.sh"); err != nil || !strings.Contains(out, "nfpm called") {
		t.Errorf("a fresh release folder: deb.sh %v\n%s\nwant it packaged", err, out)
	}
}

// Built from a source archive (no git checkout), the stamp covers every
// file but the build's outputs: it is stable, and a changed file changes it.
func TestSourceStampOutsideGit(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("../scripts/source-stamp.sh")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("scripts/source-stamp.sh", string(script))
	write("main.go", "package main\n")
	stamp := func() string {
		t.Helper()
		cmd := exec.Command("bash", "scripts/source-stamp.sh")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CEILING_DIRECTORIES="+filepath.Dir(dir))
		out, err := cmd.CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) != 64 {
			t.Fatalf("source-stamp.sh outside git: %v\n%s", err, out)
		}
		return string(out)
	}
	first := stamp()
	write("dist/reviewhub_v1_linux_amd64/bin/hub", "binary")
	if stamp() != first {
		t.Error("a release folder in dist/ changed the sources' stamp")
	}
	write("main.go", "package main // changed\n")
	if stamp() == first {
		t.Error("a changed source file left the stamp as it was")
	}
}
