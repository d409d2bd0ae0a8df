// Command hub-plugin-slack is Reviewhub's Slack notifier plugin as a binary
// of its own (package slack; the release bundles every first-party plugin
// in one binary, plugins/cmd/reviewhub-plugins).
package main

import "github.com/reviewhub/reviewhub/plugins/slack"

func main() { slack.Main() }
