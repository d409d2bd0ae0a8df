package pluginhost

import (
	"strings"
	"testing"
	"time"
)

func TestOptionsDefaults(t *testing.T) {
	var o Options
	o.setDefaults()
	if o.Logger == nil || o.HealthInterval != 5*time.Second || o.HealthTimeout != 5*time.Second || o.CallTimeout != time.Minute ||
		o.RestartMin != 200*time.Millisecond || o.RestartMax != 30*time.Second || o.StartTimeout != 30*time.Second ||
		o.StopTimeout != 5*time.Second {
		t.Errorf("defaults %+v", o)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
	set := Options{HealthInterval: time.Second, HealthTimeout: 2 * time.Second, CallTimeout: 3 * time.Second,
		RestartMin: 4 * time.Second, RestartMax: 5 * time.Second, StartTimeout: 6 * time.Second, StopTimeout: 7 * time.Second}
	got := set
	got.setDefaults()
	got.Logger = nil
	if got.HealthInterval != set.HealthInterval || got.HealthTimeout != set.HealthTimeout || got.CallTimeout != set.CallTimeout ||
		got.RestartMin != set.RestartMin || got.RestartMax != set.RestartMax || got.StartTimeout != set.StartTimeout ||
		got.StopTimeout != set.StopTimeout {
		t.Errorf("setDefaults changed set fields: %+v, want %+v", got, set)
	}
}

func TestOptionsValidate(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name string
		o    Options
		want []string // parts of the error; none: valid
	}{
		{"zero", Options{}, nil},
		{"pinned", Options{Checksums: map[string]string{"st": sum}}, nil},
		{"restart delays upside down", Options{RestartMin: time.Minute, RestartMax: time.Second}, []string{"RestartMin 1m0s is longer than RestartMax 1s"}},
		{"bad pins", Options{Checksums: map[string]string{"st": "nothex", "desk": sum[:62]}},
			[]string{`plugins.checksums.st: "nothex" is not a hex SHA-256`, "plugins.checksums.desk:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Errorf("error %v, want none", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q, want it to contain %q", err, w)
				}
			}
		})
	}
	// Start refuses what does not validate, before starting anything.
	if _, err := Start(t.Context(), nil, Options{RestartMin: time.Minute, RestartMax: time.Second}); err == nil || !strings.Contains(err.Error(), "RestartMin") {
		t.Errorf("Start: %v, want the field named", err)
	}
}
