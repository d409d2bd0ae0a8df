// Command hub-plugin-deepl is Reviewhub's DeepL plugin as a binary of its
// own (package deepl; the release bundles every first-party plugin in one
// binary, plugins/cmd/reviewhub-plugins).
package main

import "github.com/reviewhub/reviewhub/plugins/deepl"

func main() { deepl.Main() }
