// Command hub-plugin-rustore is Reviewhub's RuStore plugin as a binary of its
// own (package rustore; the release bundles every first-party plugin in one
// binary, plugins/cmd/reviewhub-plugins).
package main

import "github.com/reviewhub/reviewhub/plugins/rustore"

func main() { rustore.Main() }
