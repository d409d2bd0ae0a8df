package app

import (
	"errors"
	"log/slog"
	"reflect"
	"testing"
)

func TestLifecycleClosesInReverseOnce(t *testing.T) {
	var got []string
	l := &lifecycle{log: slog.New(slog.DiscardHandler)}
	for _, name := range []string{"listener", "state", "bus", "plugins"} {
		l.onClose(name, func() error {
			got = append(got, name)
			if name == "bus" {
				return errors.New("bus close failed")
			}
			return nil
		})
	}
	l.closeAll()
	l.closeAll()
	if want := []string{"plugins", "bus", "state", "listener"}; !reflect.DeepEqual(got, want) {
		t.Errorf("closed %v, want %v (reverse, each once, on past a failure)", got, want)
	}
}
