package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The Kubernetes version whose OpenAPI document the rendered manifests are
// validated against. kubeconform's schemas are normally downloaded from
// GitHub; here they are generated from the OpenAPI document in the
// k8s.io/kubernetes module (api/openapi-spec/swagger.json), which the Go
// module proxy serves.
const kubernetesModule = "k8s.io/kubernetes@v1.31.4"

const chart = "helm/reviewhub"

// tool finds helm or kubeconform: in REVIEWHUB_TOOLS (make package-test
// installs them into .tools with go install), else on PATH. Without it
// the test is skipped, except with REVIEWHUB_PACKAGE_TEST=1.
func tool(t *testing.T, name string) string {
	t.Helper()
	if dir := os.Getenv("REVIEWHUB_TOOLS"); dir != "" {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("REVIEWHUB_PACKAGE_TEST") == "1" {
		t.Fatalf("%s not found (REVIEWHUB_TOOLS=%q); make package-test installs it", name, os.Getenv("REVIEWHUB_TOOLS"))
	}
	t.Skipf("%s not found: run make package-test", name)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tool(t, "helm"), args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), fmt.Errorf("helm %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// postgresValues are the values of a three-hub installation on PostgreSQL.
var postgresValues = []string{
	"--set", "replicaCount=3", "--set", "state.driver=postgres",
	"--set", "state.dsn=postgres://hub:pw@db:5432/reviewhub",
	"--set", "secrets.secretKey=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	"--set", "secrets.adminToken=a-long-enough-admin-token",
	"--set", "serviceMonitor.enabled=true", "--set-string", "config.file=poll_interval: 10m",
}

type manifest struct {
	APIVersion string         `yaml:"apiVersion"`
	Kind       string         `yaml:"kind"`
	Metadata   map[string]any `yaml:"metadata"`
	Spec       map[string]any `yaml:"spec"`
	Data       map[string]any `yaml:"data"`
}

func render(t *testing.T, args ...string) (string, map[string]manifest) {
	t.Helper()
	out, err := helm(t, append([]string{"template", "rh", chart}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]manifest{}
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var m manifest
		if err := dec.Decode(&m); err != nil {
			break
		}
		if m.Kind != "" {
			key := m.Kind
			if _, dup := byKind[key]; dup {
				key += "/" + fmt.Sprint(m.Metadata["name"])
			}
			byKind[key] = m
		}
	}
	return out, byKind
}

func TestHelmLint(t *testing.T) {
	for _, args := range [][]string{nil, postgresValues} {
		if out, err := helm(t, append([]string{"lint", "--strict", chart}, args...)...); err != nil {
			t.Errorf("helm lint %v: %v\n%s", args, err, out)
		}
	}
}

func TestChartRendersSQLiteAsOneReplicaWithAVolume(t *testing.T) {
	_, m := render(t)
	d, ok := m["Deployment"]
	if !ok {
		t.Fatal("no Deployment")
	}
	if d.Spec["replicas"] != 1 || d.Spec["strategy"].(map[string]any)["type"] != "Recreate" {
		t.Errorf("sqlite: replicas %v strategy %v", d.Spec["replicas"], d.Spec["strategy"])
	}
	for _, kind := range []string{"PersistentVolumeClaim", "Secret", "ConfigMap", "Service", "PodDisruptionBudget", "ServiceAccount"} {
		if _, ok := m[kind]; !ok {
			t.Errorf("sqlite: no %s", kind)
		}
	}
	if _, ok := m["ServiceMonitor"]; ok {
		t.Error("a ServiceMonitor without serviceMonitor.enabled")
	}
	pod := d.Spec["template"].(map[string]any)["spec"].(map[string]any)
	c := pod["containers"].([]any)[0].(map[string]any)
	if c["livenessProbe"].(map[string]any)["httpGet"].(map[string]any)["path"] != "/healthz" ||
		c["readinessProbe"].(map[string]any)["httpGet"].(map[string]any)["path"] != "/readyz" {
		t.Errorf("probes: %v %v", c["livenessProbe"], c["readinessProbe"])
	}
	if c["resources"] == nil || c["securityContext"].(map[string]any)["readOnlyRootFilesystem"] != true {
		t.Errorf("resources %v securityContext %v", c["resources"], c["securityContext"])
	}
	if m["ConfigMap"].Data["HUB_STATE_DRIVER"] != "sqlite" || m["ConfigMap"].Data["HUB_DATA_DIR"] != "/data" {
		t.Errorf("configmap %v", m["ConfigMap"].Data)
	}
}

func TestChartRendersPostgresWithSeveralReplicas(t *testing.T) {
	out, m := render(t, postgresValues...)
	if m["Deployment"].Spec["replicas"] != 3 {
		t.Errorf("replicas %v", m["Deployment"].Spec["replicas"])
	}
	if _, ok := m["PersistentVolumeClaim"]; ok {
		t.Error("a PVC with PostgreSQL")
	}
	if _, ok := m["ServiceMonitor"]; !ok {
		t.Error("no ServiceMonitor with serviceMonitor.enabled")
	}
	if _, ok := m["ConfigMap/rh-reviewhub-file"]; !ok {
		t.Error("config.file is not in its ConfigMap")
	}
	// The secrets are in the Secret only, base64; never in the ConfigMap.
	if strings.Contains(out, "a-long-enough-admin-token") || strings.Contains(out, "postgres://hub:pw@") {
		t.Error("a secret appears in clear in the rendered manifests")
	}
	if s := m["Secret"].Data; s["HUB_STATE_DSN"] == nil || s["HUB_SECRET_KEY"] == nil || s["HUB_ADMIN_TOKEN"] == nil {
		t.Errorf("secret keys: %v", s)
	}
}

// emptyMapValues set the maps a user may empty (probes, resources, access
// modes) to null (which removes the chart's defaults) and to {} (which helm
// merges into them): the chart still renders valid manifests with the
// probes' checks (TestRenderedManifestsAreValidKubernetes validates them).
var emptyMapValues = map[string][]string{
	"null maps":  {"--set", "livenessProbe=null", "--set", "readinessProbe=null", "--set", "resources=null", "--set", "persistence.accessModes=null"},
	"empty maps": {"--set-json", "livenessProbe={}", "--set-json", "readinessProbe={}", "--set-json", "resources={}", "--set-json", "persistence.accessModes=[]"},
}

func TestChartRendersEmptiedMaps(t *testing.T) {
	for name, args := range emptyMapValues {
		_, m := render(t, args...)
		pod := m["Deployment"].Spec["template"].(map[string]any)["spec"].(map[string]any)
		c := pod["containers"].([]any)[0].(map[string]any)
		for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
			p, _ := c[probe].(map[string]any)
			if get, _ := p["httpGet"].(map[string]any); get["path"] != path {
				t.Errorf("%s: %s %v, want its check on %s", name, probe, c[probe], path)
			}
			if name == "null maps" && len(p) != 1 {
				t.Errorf("%s: %s %v, want only its check (Kubernetes' timings)", name, probe, c[probe])
			}
		}
		if r, ok := c["resources"]; ok && name == "null maps" {
			t.Errorf("%s: resources %v rendered, want none", name, r)
		}
		if modes := m["PersistentVolumeClaim"].Spec["accessModes"]; fmt.Sprint(modes) != "[ReadWriteOnce]" {
			t.Errorf("%s: the PVC's accessModes %v, want [ReadWriteOnce]", name, modes)
		}
	}
}

func TestChartRefusesWhatCannotWork(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--set", "replicaCount=2"}, "state.driver is sqlite"},
		{[]string{"--set", "state.driver=mysql"}, "state.driver must be sqlite or postgres"},
		{[]string{"--set", "state.driver=postgres", "--set", "secrets.secretKey=x"}, "set state.dsn"},
		{[]string{"--set", "state.driver=postgres", "--set", "state.dsn=postgres://db/x"}, "set secrets.secretKey"},
		{[]string{"--set", "secrets.adminToken=short"}, "at least 16 characters"},
		{[]string{"--set", "livenessProbe.exec.command={true}"}, "livenessProbe.exec: the chart sets the probe's check"},
		{[]string{"--set", "readinessProbe.httpGet.path=/healthz"}, "readinessProbe.httpGet: the chart sets the probe's check"},
	} {
		out, err := helm(t, append([]string{"template", "rh", chart}, tc.args...)...)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("%v: err %v, output %q; want a failure saying %q", tc.args, err, out, tc.want)
		}
	}
}

// kubeconform, strict, on what the chart renders, against schemas
// generated from Kubernetes' OpenAPI document. The ServiceMonitor is a
// custom resource without a schema there: it is skipped (and said so).
func TestRenderedManifestsAreValidKubernetes(t *testing.T) {
	kc := tool(t, "kubeconform")
	schemas := kubernetesSchemas(t)
	cases := map[string][]string{"sqlite": nil, "postgres": postgresValues}
	for name, args := range emptyMapValues {
		cases[name] = args
	}
	for name, args := range cases {
		out, _ := render(t, args...)
		cmd := exec.Command(kc, "-strict", "-summary", "-skip", "ServiceMonitor",
			"-schema-location", filepath.Join(schemas, "{{ .ResourceKind }}{{ .KindSuffix }}.json"), "-")
		cmd.Stdin = strings.NewReader(out)
		res, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: kubeconform: %v\n%s", name, err, res)
			continue
		}
		t.Logf("%s: %s", name, strings.TrimSpace(string(res)))
		if !strings.Contains(string(res), "Invalid: 0, Errors: 0") || strings.Contains(string(res), "Valid: 0,") {
			t.Errorf("%s: %s", name, res)
		}
	}
	// The validation can fail: an unknown field is refused.
	bad := "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80}], selectr: {a: b}}\n"
	cmd := exec.Command(kc, "-strict", "-schema-location", filepath.Join(schemas, "{{ .ResourceKind }}{{ .KindSuffix }}.json"), "-")
	cmd.Stdin = strings.NewReader(bad)
	if res, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("kubeconform accepted a Service with a misspelled field: %s", res)
	}
}

// kubernetesSchemas writes kubeconform's schema files for the kinds the
// chart uses, from swagger.json of kubernetesModule, and returns their
// folder. Each file holds every definition, refers to its kind's, forbids
// unknown fields (strict) and reads int-or-string and quantities as
// kubeconform's own schemas do.
func kubernetesSchemas(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", kubernetesModule).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", kubernetesModule, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", kubernetesModule, err, out)
	}
	raw, err := os.ReadFile(filepath.Join(mod.Dir, "api", "openapi-spec", "swagger.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	defs := spec.Definitions
	for name, d := range defs {
		if _, ok := d["properties"]; ok {
			if _, set := d["additionalProperties"]; !set {
				d["additionalProperties"] = false
			}
		}
		switch name {
		case "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
			defs[name] = map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
		case "io.k8s.apimachinery.pkg.api.resource.Quantity":
			defs[name] = map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
		}
	}
	dir := t.TempDir()
	wanted := map[string]bool{"Deployment": true, "Service": true, "ConfigMap": true, "Secret": true,
		"PersistentVolumeClaim": true, "PodDisruptionBudget": true, "ServiceAccount": true}
	written := 0
	for name, d := range defs {
		gvks, _ := d["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			gvk := g.(map[string]any)
			kind, group, version := gvk["kind"].(string), gvk["group"].(string), gvk["version"].(string)
			if !wanted[kind] || strings.Contains(version, "alpha") || strings.Contains(version, "beta") {
				continue
			}
			// kubeconform's KindSuffix: -GROUP-VERSION, GROUP the first label
			// of the API group, none for the core group.
			file := strings.ToLower(kind)
			if group != "" {
				file += "-" + strings.Split(group, ".")[0]
			}
			file += "-" + version + ".json"
			doc := map[string]any{"$ref": "#/definitions/" + name, "definitions": defs}
			b, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
				t.Fatal(err)
			}
			written++
		}
	}
	if written < len(wanted) {
		t.Fatalf("schemas for %d kinds written, want %d", written, len(wanted))
	}
	return dir
}
