// Command hub-plugin-libretranslate is Reviewhub's LibreTranslate plugin as
// a binary of its own (package libretranslate; the release bundles every
// first-party plugin in one binary, plugins/cmd/reviewhub-plugins).
package main

import "github.com/reviewhub/reviewhub/plugins/libretranslate"

func main() { libretranslate.Main() }
