package packagetest

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reviewhub/reviewhub/hub/internal/stack"
)

// needCompose finds podman-compose: without it the compose test is skipped,
// unless CI=true or make package-test asks for it (then it fails).
func needCompose(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"podman", "podman-compose", "buildah"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" || os.Getenv("REVIEWHUB_PACKAGE_TEST") == "1" {
				t.Fatalf("%s is not installed (apt-get install %s; .ci/run installs it)", tool, tool)
			}
			t.Skipf("%s is not installed: the compose file is not run", tool)
		}
	}
}

// composeRun is one compose project of deploy/compose.yaml under
// podman-compose: its own project name, host port and secrets.
type composeRun struct {
	t       *testing.T
	project string
	env     []string // the env file's variables and the overrides, for podman-compose
	secrets []string // kept out of anything the test prints
	base    string   // the hub's URL on the host
}

// compose runs podman-compose on deploy/compose.yaml. podman-compose 1.0.x
// has no --env-file: the env file's variables reach it through its
// environment (as `set -a; . deploy/reviewhub.env` does; docs/install.md).
// It prints the podman command lines, secrets included: the output is
// returned with them masked.
func (c *composeRun) compose(args ...string) (string, error) {
	c.t.Helper()
	file, err := filepath.Abs("../../../deploy/compose.yaml")
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command("podman-compose", append([]string{"-p", c.project, "-f", file}, args...)...)
	cmd.Env = append(os.Environ(), c.env...)
	if os.Getenv("CONTAINERS_CONF") == "" {
		conf, err := filepath.Abs("../../../deploy/podman/containers.conf")
		if err != nil {
			c.t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "CONTAINERS_CONF="+conf)
	}
	out, err := cmd.CombinedOutput()
	return c.mask(string(out)), err
}

func (c *composeRun) mask(s string) string {
	for _, v := range c.secrets {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}

// writeEnvFile writes the env file deploy/reviewhub.env.example describes,
// with secrets generated as it says, and returns its variables.
func writeEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	key := make([]byte, 32) // `openssl rand -base64 32`
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"POSTGRES_PASSWORD":          random(t) + random(t),
		"HUB_SECRET_KEY":             base64.StdEncoding.EncodeToString(key),
		"HUB_ADMIN_TOKEN":            random(t) + random(t),
		"GF_SECURITY_ADMIN_PASSWORD": random(t),
	}
	var b strings.Builder
	for k, v := range vars {
		b.WriteString(k + "=" + v + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return vars
}

// readEnvFile reads NAME=VALUE lines as compose does (comments and blank
// lines skipped).
func readEnvFile(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var env []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.Contains(line, "=") {
			t.Fatalf("env file: %q is not NAME=VALUE", line)
		}
		env = append(env, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return env
}

func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// deploy/compose.yaml run as an operator runs it: the hub (make image) and
// PostgreSQL (a stand-in built from this machine's PostgreSQL 15, since no
// base image can be pulled: scripts/test-postgres-image.sh; POSTGRES_IMAGE
// names another) on their volumes, the secrets from an env file. The time
// from `compose up` to /readyz answering 200 is logged (docs/performance.md);
// the admin API answers with the env file's token; a `compose down` and
// `up` keeps the state; `down -v` removes the volumes.
func TestComposeUpServesAndKeepsState(t *testing.T) {
	img := image(t)
	needCompose(t)
	id := random(t)
	pgImage := os.Getenv("POSTGRES_IMAGE")
	if pgImage == "" {
		pgImage = "localhost/reviewhub-test-postgres:" + id
		script, err := filepath.Abs("../../../scripts/test-postgres-image.sh")
		if err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(script, pgImage).CombinedOutput(); err != nil {
			t.Fatalf("the PostgreSQL stand-in image: %v\n%s", err, out)
		}
		defer func() { _, _ = podman(t, nil, "rmi", pgImage) }()
	}
	addr, err := stack.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(t.TempDir(), "reviewhub.env")
	vars := writeEnvFile(t, envFile)
	c := &composeRun{t: t, project: "rhcompose" + id, base: "http://127.0.0.1:" + port}
	c.env = append(readEnvFile(t, envFile), "REVIEWHUB_IMAGE="+img, "POSTGRES_IMAGE="+pgImage, "REVIEWHUB_PORT="+port)
	for _, v := range vars {
		c.secrets = append(c.secrets, v)
	}
	volumes := []string{c.project + "_db", c.project + "_hub-data"}
	defer func() {
		if t.Failed() {
			for _, s := range []string{"db", "hub"} {
				logs, _ := podman(t, nil, "logs", "--tail", "40", c.project+"_"+s+"_1")
				t.Logf("%s log:\n%s", s, c.mask(logs))
			}
		}
		// stop_grace_period is not read by podman-compose 1.0.x: -t.
		if out, err := c.compose("down", "-v", "-t", "45"); err != nil {
			t.Errorf("compose down -v: %v\n%s", err, out)
		}
		// What a failed down leaves (a container restarting meanwhile).
		ids, _ := podman(t, nil, "ps", "-a", "-q", "--filter", "label=io.podman.compose.project="+c.project)
		for _, cid := range strings.Fields(ids) {
			t.Errorf("compose down -v left container %s", cid)
			_, _ = podman(t, nil, "rm", "-f", "-t", "0", cid)
		}
		for _, v := range volumes {
			if _, err := podman(t, nil, "volume", "exists", v); err == nil {
				t.Errorf("compose down -v left volume %s", v)
				_, _ = podman(t, nil, "volume", "rm", "-f", v)
			}
		}
		_, _ = podman(t, nil, "network", "rm", "-f", c.project+"_default")
	}()

	// podman-compose 1.0.x has no profiles: naming the hub starts it and
	// its dependency (the database), not the monitoring profile.
	up := func(what string) {
		t.Helper()
		start := time.Now()
		if out, err := c.compose("up", "-d", "hub"); err != nil {
			t.Fatalf("compose up: %v\n%s", err, out)
		}
		eventually(t, 3*time.Minute, "/readyz after compose up", func() bool { return get(c.base+"/readyz") == 200 })
		took := time.Since(start).Round(10 * time.Millisecond)
		// podman-compose 1.0.x does not wait for the database's health:
		// the hub may exit once and be restarted (docs/install.md).
		restarts, _ := podman(t, nil, "inspect", "--format", "{{.RestartCount}}", c.project+"_hub_1")
		t.Logf("%s: compose up to /readyz 200 in %v (hub restarts: %s; load average %s)", what, took, strings.TrimSpace(restarts), loadAverage())
	}
	up("first start (empty volumes, initdb)")
	for _, v := range volumes {
		if _, err := podman(t, nil, "volume", "exists", v); err != nil {
			t.Errorf("volume %s was not made", v)
		}
	}

	token := vars["HUB_ADMIN_TOKEN"]
	if code, raw := api(t, c.base, token, "GET", "/api/integrations", nil); code != 200 {
		t.Fatalf("GET /api/integrations with the env file's token: %d %s", code, c.mask(raw))
	}
	if code, _ := api(t, c.base, "not-"+token, "GET", "/api/integrations", nil); code != 401 {
		t.Errorf("GET /api/integrations with a wrong token: %d, want 401", code)
	}
	// State written through the hub: an integration (its settings sealed
	// with HUB_SECRET_KEY; the fakes are not reached from the containers'
	// network, and need not be: nothing here polls them).
	fakes, err := stack.StartFakes(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fakes.Close()
	desk, _ := fakes.HelpdeskSettings("omnidesk", "compose-webhook-secret")
	body, _ := json.Marshal(map[string]any{
		"id": "compose", "name": "Compose test",
		"helpdesk": map[string]any{"plugin": "omnidesk", "settings": desk},
		"apps": []any{map[string]any{"id": "ios", "store": "appstore", "store_app_id": "1000000001",
			"settings": fakes.AppStore.Settings(fakes.URL["appstore"]), "poll_interval": "1h"}},
	})
	if code, raw := api(t, c.base, token, "POST", "/api/integrations", body); code != 201 {
		t.Fatalf("create integration: %d %s", code, c.mask(raw))
	}

	// down (volumes kept) and up again: the integration is still there.
	if out, err := c.compose("down", "-t", "45"); err != nil {
		t.Fatalf("compose down: %v\n%s", err, out)
	}
	if get(c.base+"/healthz") != 0 {
		t.Fatal("the hub still answers after compose down")
	}
	up("second start (volumes kept)")
	code, raw := api(t, c.base, token, "GET", "/api/integrations", nil)
	if code != 200 || !strings.Contains(raw, `"compose"`) {
		t.Errorf("after compose down and up, the integration is gone: %d %s", code, c.mask(raw))
	}
}
