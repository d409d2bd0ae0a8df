// Command hub-plugin-omnidesk is Reviewhub's Omnidesk plugin as a binary of its
// own (package omnidesk; the release bundles every first-party plugin in one
// binary, plugins/cmd/reviewhub-plugins).
package main

import "github.com/reviewhub/reviewhub/plugins/omnidesk"

func main() { omnidesk.Main() }
