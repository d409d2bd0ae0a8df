// Package deploy_test checks the deployment files: the compose file (here,
// always, as a file and against the hub's configuration; make package-test
// also runs it under podman-compose: hub/internal/packagetest/compose_test.go)
// and the Helm chart (chart_test.go: helm lint, rendering, kubeconform).
package deploy_test

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/reviewhub/reviewhub/hub/config"
)

type composeService struct {
	Image       string            `yaml:"image"`
	Profiles    []string          `yaml:"profiles"`
	EnvFile     any               `yaml:"env_file"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   any               `yaml:"depends_on"`
	Healthcheck map[string]any    `yaml:"healthcheck"`
}

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c
}

// envExample reads reviewhub.env.example: the names it defines.
func envExample(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("reviewhub.env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("reviewhub.env.example: %q is not NAME=VALUE", line)
		}
		names = append(names, name)
	}
	return names
}

// isSecret names the variables that hold secrets.
var isSecret = regexp.MustCompile(`(?i)password|secret|token`)

func TestComposeFile(t *testing.T) {
	c := readCompose(t)
	hub, db := c.Services["hub"], c.Services["db"]
	if hub.Image == "" || !strings.Contains(db.Image, "postgres") {
		t.Fatalf("services hub and db (PostgreSQL) wanted: hub %q db %q", hub.Image, db.Image)
	}
	// Each container gets only its own secrets, from the env file that
	// compose reads (--env-file), never the whole file (env_file).
	secrets := map[string][]string{
		"db":      {"POSTGRES_PASSWORD"},
		"hub":     {"HUB_ADMIN_TOKEN", "HUB_SECRET_KEY", "POSTGRES_PASSWORD"},
		"grafana": {"GF_SECURITY_ADMIN_PASSWORD"},
	}
	for name, s := range c.Services {
		if s.EnvFile != nil {
			t.Errorf("%s: env_file hands it every secret of the file", name)
		}
		var got []string
		for k, v := range s.Environment {
			if isSecret.MatchString(k) {
				got = append(got, k)
				if v != "${"+k+":?set "+k+" in deploy/reviewhub.env}" {
					t.Errorf("%s: %s = %q, want it from the env file, required", name, k, v)
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, secrets[name]) {
			t.Errorf("%s is given the secrets %v, want %v", name, got, secrets[name])
		}
	}
	if !slices.Contains(hub.Volumes, "hub-data:/data") || !slices.Contains(db.Volumes, "db:/var/lib/postgresql/data") {
		t.Errorf("the hub's data and the database on volumes: hub %v db %v", hub.Volumes, db.Volumes)
	}
	if dep, _ := hub.DependsOn.(map[string]any); dep == nil || dep["db"] == nil {
		t.Errorf("the hub waits for the database: %v", hub.DependsOn)
	}
	if db.Healthcheck == nil {
		t.Error("db has no healthcheck (the hub waits for service_healthy)")
	}
	for _, name := range []string{"prometheus", "grafana"} {
		s, ok := c.Services[name]
		if !ok || !slices.Equal(s.Profiles, []string{"monitoring"}) {
			t.Errorf("%s: in the monitoring profile only (profiles %v)", name, s.Profiles)
		}
	}
	for _, name := range []string{"hub", "db"} {
		if len(c.Services[name].Profiles) != 0 {
			t.Errorf("%s must start without a profile", name)
		}
	}
	// Every bind mount exists; every named volume is declared.
	dashboard := false
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, dst, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("%s: bind mount %s: %v", name, src, err)
				}
				if src == "../docs/grafana/reviewhub.json" && strings.HasPrefix(dst, "/var/lib/grafana/dashboards/") {
					dashboard = true
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s: volume %s is not declared", name, src)
			}
		}
	}
	if !dashboard {
		t.Error("grafana does not load docs/grafana/reviewhub.json")
	}
	// Secrets are not written in the file.
	for name, s := range c.Services {
		for k, v := range s.Environment {
			if strings.Contains(v, "://") && strings.Contains(v, "@") && !strings.Contains(v, "$${") {
				t.Errorf("%s: %s holds credentials in compose.yaml", name, k)
			}
		}
	}
}

// The hub starts from the compose file's environment and the env file's
// names alone (no configuration file): the hub's own parser accepts it.
func TestComposeEnvironmentConfiguresTheHub(t *testing.T) {
	c := readCompose(t)
	names := envExample(t)
	for _, want := range []string{"POSTGRES_PASSWORD", "HUB_SECRET_KEY", "HUB_ADMIN_TOKEN", "GF_SECURITY_ADMIN_PASSWORD"} {
		if !slices.Contains(names, want) {
			t.Errorf("reviewhub.env.example lacks %s", want)
		}
	}
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "HUB_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	// The image's own variables (scripts/image.sh), then the env file filled in, then compose's.
	t.Setenv("HUB_LISTEN", "0.0.0.0:8080")
	t.Setenv("HUB_DATA_DIR", t.TempDir())
	t.Setenv("POSTGRES_PASSWORD", "0123456789abcdef")
	t.Setenv("HUB_SECRET_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	t.Setenv("HUB_ADMIN_TOKEN", "a-long-enough-admin-token")
	for k, v := range c.Services["hub"].Environment {
		// Compose turns $$ into $ before the container sees it.
		v = strings.ReplaceAll(v, "$${", "${")
		if m := regexp.MustCompile(`^\$\{([A-Z_]+):-(.*)\}$`).FindStringSubmatch(v); m != nil {
			v = m[2] // compose's own default
		} else if m := regexp.MustCompile(`^\$\{([A-Z_]+):\?.*\}$`).FindStringSubmatch(v); m != nil {
			v = os.Getenv(m[1]) // from the env file, required
		}
		t.Setenv(k, v)
	}
	cfg, err := config.Load("")
	if err != nil {
		t.Fatalf("the hub refuses the compose environment: %v", err)
	}
	if cfg.State.Driver != "postgres" || cfg.Bus.Backend != "postgres" ||
		cfg.State.DSN != "postgres://reviewhub:0123456789abcdef@db:5432/reviewhub?sslmode=disable" {
		t.Errorf("state %q bus %q dsn %q", cfg.State.Driver, cfg.Bus.Backend, cfg.State.DSN)
	}
}
