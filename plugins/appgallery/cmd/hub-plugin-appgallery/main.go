// Command hub-plugin-appgallery is Reviewhub's Huawei AppGallery plugin as a
// binary of its own (package appgallery; the release bundles every
// first-party plugin in one binary, plugins/cmd/reviewhub-plugins).
package main

import "github.com/reviewhub/reviewhub/plugins/appgallery"

func main() { appgallery.Main() }
