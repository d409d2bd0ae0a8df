// Command hub-plugin-zendesk is Reviewhub's Zendesk Support plugin as a binary of its
// own (package zendesk; the release bundles every first-party plugin in one
// binary, plugins/cmd/reviewhub-plugins).
package main

import "github.com/reviewhub/reviewhub/plugins/zendesk"

func main() { zendesk.Main() }
