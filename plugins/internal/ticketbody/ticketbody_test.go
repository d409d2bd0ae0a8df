package ticketbody

import (
	"strings"
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
)

// The store is named as its plugin declares it (Info.DisplayName, carried
// by the hub in the change), so a store plugin nobody here knows shows
// under its own name; without one (an older hub) the plugin name is shown.
func TestStoreNamedByTheStorePlugin(t *testing.T) {
	c := sdk.ReviewChange{Store: "appgallery", StoreName: "AppGallery", AppName: "ACME",
		Review: sdk.Review{ID: "r", Author: "Li", Rating: 2, Text: "Crashes"}}
	if s := Subject(c); !strings.Contains(s, "Li on AppGallery (ACME)") {
		t.Errorf("subject %q, want the store's display name", s)
	}
	c.StoreName = ""
	if s := Subject(c); !strings.Contains(s, "Li on appgallery (ACME)") {
		t.Errorf("subject %q, want the plugin name when the hub sent none", s)
	}
	a := sdk.Alert{AppID: "android", Store: "googleplay", StoreName: "Google Play"}
	if s := AlertSubject(a); !strings.Contains(s, "(Google Play)") {
		t.Errorf("alert subject %q, want the store's display name", s)
	}
}
