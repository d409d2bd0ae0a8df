package console_test

import (
	"testing"

	"github.com/reviewhub/reviewhub/hub/console"
)

// The Reviews pages in Chromium: the list in English, a Chinese search of
// one character through the search box, a Japanese one of two, a review's
// page with its versions and the answers' timelines, the list in Russian;
// every control labelled; an axe-core check of each page when axe-core is
// installed. Screenshots go to $CONSOLE_SCREENSHOTS (docs/console/).
func TestReviewsInBrowser(t *testing.T) {
	runBrowserScript(t, "reviews.mjs", console.ReviewsTestServer)
}
