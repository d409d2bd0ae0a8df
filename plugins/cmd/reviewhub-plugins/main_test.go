package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/sdk/host"
	"github.com/reviewhub/reviewhub/sdk/sdktest"
)

func TestPluginOf(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
		err  string
	}{
		{args: []string{"/usr/lib/reviewhub/plugins/hub-plugin-rustore"}, want: "rustore"},
		{args: []string{"hub-plugin-zendesk", "ignored"}, want: "zendesk"},
		{args: []string{"/usr/lib/reviewhub/reviewhub-plugins", "omnidesk"}, want: "omnidesk"},
		{args: []string{"hub-plugin-jira"}, err: `started as hub-plugin-jira: no plugin "jira" in this bundle`},
		{args: []string{"reviewhub-plugins", "jira"}, err: `no plugin "jira" in this bundle`},
		{args: []string{"reviewhub-plugins"}, err: "no plugin named (usage: reviewhub-plugins NAME, or a link named hub-plugin-NAME to it; NAME is one of appgallery, appstore, deepl, googleplay, libretranslate, omnidesk, rustore, slack, telegram, zendesk)"},
		{args: nil, err: "no plugin named"},
	} {
		got, err := pluginOf(c.args)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("pluginOf(%q) = %q, %v; want the error %q", c.args, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("pluginOf(%q) = %q, %v; want %q", c.args, got, err, c.want)
		}
	}
}

// Every bundled plugin, started through a link named hub-plugin-NAME as the
// hub starts it, is that plugin; and so is the bundle started with the name
// as its argument.
func TestEachLinkServesItsPlugin(t *testing.T) {
	bundle := sdktest.Build(t, ".")
	dir := t.TempDir()
	for _, name := range names() {
		link := filepath.Join(dir, binaryPrefix+name)
		if err := os.Symlink(bundle, link); err != nil {
			t.Fatal(err)
		}
		if got := infoOf(t, exec.Command(link)); got != name {
			t.Errorf("%s serves the plugin %q", link, got)
		}
	}
	if got := infoOf(t, exec.Command(bundle, "googleplay")); got != "googleplay" {
		t.Errorf("reviewhub-plugins googleplay serves the plugin %q", got)
	}
}

// infoOf starts cmd as the hub does and returns the name the plugin
// declares in its handshake (sdk.Info.Name).
func infoOf(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	conn, err := host.Launch(context.Background(), cmd, host.LaunchOptions{})
	if err != nil {
		t.Fatalf("launch %s: %v", cmd.Args, err)
	}
	defer conn.Close()
	return conn.Info().Name
}

// Started by hand with no name, the bundle says what it holds and exits 2.
func TestNoNameIsAnError(t *testing.T) {
	out, err := exec.Command(sdktest.Build(t, ".")).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "NAME is one of appgallery, appstore") {
		t.Fatalf("reviewhub-plugins without a name: %v\n%s", err, out)
	}
}

// What builds and installs the plugins names the same ones as the bundle:
// the Makefile's and the release script's lists (a link per name) and the
// Debian package's links.
func TestPackagingListsEveryBundledPlugin(t *testing.T) {
	want := strings.Join(names(), " ")
	read := func(path string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", path))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	listed := func(path, prefix string) string {
		for _, line := range strings.Split(read(path), "\n") {
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				f := strings.Fields(strings.Trim(strings.TrimSpace(rest), "}\""))
				slices.Sort(f)
				return strings.Join(f, " ")
			}
		}
		t.Fatalf("%s: no line starting %q", path, prefix)
		return ""
	}
	if got := listed("Makefile", "PLUGINS       :="); got != want {
		t.Errorf("Makefile PLUGINS: %s, want %s", got, want)
	}
	if got := listed("scripts/release.sh", "PLUGINS=${PLUGINS:-"); got != want {
		t.Errorf("scripts/release.sh PLUGINS: %s, want %s", got, want)
	}
	var links []string
	for _, line := range strings.Split(read("deploy/deb/nfpm.yaml"), "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "dst: /usr/lib/reviewhub/plugins/"+binaryPrefix); ok {
			links = append(links, name)
		}
	}
	slices.Sort(links)
	if got := strings.Join(links, " "); got != want {
		t.Errorf("deploy/deb/nfpm.yaml links: %s, want %s", got, want)
	}
}
