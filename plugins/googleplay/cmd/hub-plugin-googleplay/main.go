// Command hub-plugin-googleplay is Reviewhub's Google Play plugin as a binary of its
// own (package googleplay; the release bundles every first-party plugin in one
// binary, plugins/cmd/reviewhub-plugins).
package main

import "github.com/reviewhub/reviewhub/plugins/googleplay"

func main() { googleplay.Main() }
