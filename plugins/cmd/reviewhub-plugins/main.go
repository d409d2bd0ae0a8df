// Command reviewhub-plugins is every first-party plugin in one binary: the
// release, the image and the Debian package carry the Go runtime, gRPC and
// protobuf once instead of once per plugin. Each plugin still runs as a
// process of its own, started by the hub like any plugin binary.
//
// Which plugin a process serves is the name it was started by:
//
//	hub-plugin-NAME             a symlink to this binary (what the release,
//	                            the image and the package install in the
//	                            hub's plugins directory)
//	reviewhub-plugins NAME      the first argument
//
// The hub (hub/cmd/hub) links no plugin; this command links no hub package.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/reviewhub/reviewhub/plugins/appgallery"
	"github.com/reviewhub/reviewhub/plugins/appstore"
	"github.com/reviewhub/reviewhub/plugins/deepl"
	"github.com/reviewhub/reviewhub/plugins/googleplay"
	"github.com/reviewhub/reviewhub/plugins/libretranslate"
	"github.com/reviewhub/reviewhub/plugins/omnidesk"
	"github.com/reviewhub/reviewhub/plugins/rustore"
	"github.com/reviewhub/reviewhub/plugins/slack"
	"github.com/reviewhub/reviewhub/plugins/telegram"
	"github.com/reviewhub/reviewhub/plugins/zendesk"
)

// binaryPrefix is the hub's plugin binary prefix (pluginhost.BinaryPrefix;
// not imported, so the bundle links nothing of the hub).
const binaryPrefix = "hub-plugin-"

var plugins = map[string]func(){
	"appgallery":     appgallery.Main,
	"appstore":       appstore.Main,
	"deepl":          deepl.Main,
	"googleplay":     googleplay.Main,
	"libretranslate": libretranslate.Main,
	"omnidesk":       omnidesk.Main,
	"rustore":        rustore.Main,
	"slack":          slack.Main,
	"telegram":       telegram.Main,
	"zendesk":        zendesk.Main,
}

// names lists the bundled plugins, sorted.
func names() []string {
	out := make([]string, 0, len(plugins))
	for n := range plugins {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// pluginOf names the plugin that args (os.Args) ask for: the program's
// name hub-plugin-NAME, else the first argument.
func pluginOf(args []string) (string, error) {
	usage := fmt.Sprintf("usage: reviewhub-plugins NAME, or a link named %sNAME to it; NAME is one of %s",
		binaryPrefix, strings.Join(names(), ", "))
	if len(args) > 0 {
		if name, ok := strings.CutPrefix(filepath.Base(args[0]), binaryPrefix); ok {
			if _, known := plugins[name]; !known {
				return "", fmt.Errorf("started as %s: no plugin %q in this bundle (%s)", filepath.Base(args[0]), name, usage)
			}
			return name, nil
		}
	}
	if len(args) < 2 {
		return "", fmt.Errorf("no plugin named (%s)", usage)
	}
	if _, known := plugins[args[1]]; !known {
		return "", fmt.Errorf("no plugin %q in this bundle (%s)", args[1], usage)
	}
	return args[1], nil
}

func main() {
	name, err := pluginOf(os.Args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reviewhub-plugins:", err)
		os.Exit(2)
	}
	plugins[name]()
}
