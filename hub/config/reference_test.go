package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// docKeys are the configuration keys: the yaml names of Config's fields,
// nested structs as parent.key. A list of structs (integrations, oidc
// issuers) is one key: its items have their own documentation.
func docKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		key := prefix + name
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.PkgPath() == t.PkgPath() {
			out = append(out, docKeys(ft, key+".")...)
			continue
		}
		out = append(out, key)
	}
	return out
}

// Every key of the configuration file is in docs/configuration.md's
// reference (written `key`), so a new setting cannot go undocumented.
func TestEveryKeyIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	keys := docKeys(reflect.TypeOf(Config{}), "")
	if len(keys) < 20 {
		t.Fatalf("only %d keys found: %v", len(keys), keys)
	}
	for _, k := range keys {
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("configuration key %s is not in docs/configuration.md", k)
		}
	}
}
