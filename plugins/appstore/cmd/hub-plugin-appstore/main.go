// Command hub-plugin-appstore is Reviewhub's App Store plugin as a binary of its
// own (package appstore; the release bundles every first-party plugin in one
// binary, plugins/cmd/reviewhub-plugins).
package main

import "github.com/reviewhub/reviewhub/plugins/appstore"

func main() { appstore.Main() }
