package stack

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// App is one app of the stack's integration.
type App struct {
	ID, Name, Store, StoreAppID string
	Settings                    map[string]string
	Filters                     map[string]any
}

// Config describes the hub the stack runs.
type Config struct {
	Listen  string
	DataDir string
	// Plugins maps a plugin name to its binary.
	Plugins       map[string]string
	Integration   string
	Helpdesk      string
	HelpdeskSetup map[string]string
	Apps          []App
	PollInterval  time.Duration
	LogLevel      string
	AdminToken    string
	// InFlight is bus.in_flight (0: the hub's default).
	InFlight int
	// PostgresDSN, when set, is the state (and bus) database: PostgreSQL
	// instead of SQLite in DataDir.
	PostgresDSN string
	// More are integrations beside Integration (with Apps), each with
	// the same helpdesk and settings; the helpdesk's webhooks go to
	// Integration (WebhookURL).
	More []Integration
}

// Integration is one more integration of the stack's hub: its id and apps.
type Integration struct {
	ID   string
	Apps []App
}

// WebhookURL is where the helpdesk must send its webhooks.
func (c Config) WebhookURL() string {
	return fmt.Sprintf("http://%s/hooks/%s/%s", c.Listen, c.Helpdesk, c.Integration)
}

// Write writes the hub's YAML config into DataDir and returns its path.
func (c Config) Write() (string, error) {
	integrations := []any{}
	for _, in := range append([]Integration{{ID: c.Integration, Apps: c.Apps}}, c.More...) {
		apps := make([]any, 0, len(in.Apps))
		for _, a := range in.Apps {
			m := map[string]any{"id": a.ID, "name": a.Name, "store": a.Store, "store_app_id": a.StoreAppID,
				"settings": a.Settings, "poll_interval": c.PollInterval.String()}
			if a.Filters != nil {
				m["filters"] = a.Filters
			}
			apps = append(apps, m)
		}
		integrations = append(integrations, map[string]any{
			"id": in.ID, "name": in.ID, "tags": true,
			"helpdesk": map[string]any{"plugin": c.Helpdesk, "settings": c.HelpdeskSetup},
			"apps":     apps,
		})
	}
	level := c.LogLevel
	if level == "" {
		level = "info"
	}
	doc := map[string]any{
		"listen": c.Listen, "data_dir": c.DataDir, "poll_interval": c.PollInterval.String(),
		"plugins":      map[string]any{"dir": filepath.Join(c.DataDir, "no-plugins-here"), "paths": c.Plugins},
		"log":          map[string]any{"level": level, "format": "text"},
		"integrations": integrations,
	}
	if c.AdminToken != "" {
		doc["admin_token"] = c.AdminToken
	}
	if c.InFlight > 0 {
		doc["bus"] = map[string]any{"in_flight": c.InFlight}
	}
	if c.PostgresDSN != "" {
		doc["state"] = map[string]any{"driver": "postgres", "dsn": c.PostgresDSN}
	}
	raw, err := yaml.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("hub config: %w", err)
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("hub config: %w", err)
	}
	path := filepath.Join(c.DataDir, "hub.yaml")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return "", fmt.Errorf("hub config: %w", err)
	}
	return path, nil
}

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
