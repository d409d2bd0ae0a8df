// Command hub-plugin-telegram is Reviewhub's Telegram notifier plugin as a
// binary of its own (package telegram; the release bundles every
// first-party plugin in one binary, plugins/cmd/reviewhub-plugins).
package main

import "github.com/reviewhub/reviewhub/plugins/telegram"

func main() { telegram.Main() }
