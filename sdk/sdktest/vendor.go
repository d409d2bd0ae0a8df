package sdktest

import (
	"context"
	"strings"
	"unicode"

	"github.com/reviewhub/reviewhub/sdk"
)

// A vendor view is the test's window onto the vendor behind the plugin
// (in practice the author's fake of the vendor's API). With one, the
// suites check what the plugin did at the vendor, not only what it
// answered: that a delivery was applied once, that a note really appeared,
// that a reply is visible, that a refused reply reached no API.

// HelpdeskVendor is a helpdesk as the test sees it. HelpdeskSuite.Vendor
// takes one; it may also implement FaultInjector and StaffTagger.
type HelpdeskVendor interface {
	// Ticket is the ticket with that id as the vendor holds it; ok is false
	// when the vendor has no such ticket.
	Ticket(ctx context.Context, id string) (t VendorTicket, ok bool, err error)
	// SignedWebhook makes staff answer ticket ticketID publicly with text,
	// as a person would in the helpdesk, and returns the webhook request
	// the vendor sends for it (method, path, query, headers and body;
	// authenticated as the vendor authenticates it with the suite's
	// settings). The plugin must read it as exactly one staff answer.
	// Settings and IntegrationID may be left empty: the suite fills them.
	SignedWebhook(ctx context.Context, ticketID, text string) (sdk.HandleWebhookRequest, error)
}

// VendorTicket is a ticket at the vendor.
type VendorTicket struct {
	// Comments are every comment, message and note of the ticket, oldest
	// first, the one that opened it included.
	Comments []VendorComment
	// Tags are the ticket's tags (labels) as the vendor shows them.
	Tags []string
}

// VendorComment is one comment of a ticket.
type VendorComment struct {
	Text string
	// Internal: seen by staff only (an internal note), not by the customer.
	Internal bool
}

// StaffTagger is an optional side of a HelpdeskVendor: it tags a ticket as
// a person in the helpdesk would. With it, RunHelpdesk checks that an edit
// keeps the staff's own tags while it replaces the hub's.
type StaffTagger interface {
	TagAsStaff(ctx context.Context, ticketID, tag string) error
}

// FaultInjector is an optional side of a vendor view: Fail makes the next
// n calls to the vendor's API answer the HTTP status (n 0 clears it). A
// fake that embeds faults.Faults has it. With it, the suites check that
// the plugin classifies the vendor's errors.
type FaultInjector interface {
	Fail(n, status int)
}

// StoreVendor is an app store as the test sees it. StoreSuite.Vendor takes
// one; it may also implement FaultInjector.
type StoreVendor interface {
	// PutReview adds review r to app appID, or changes it when a review
	// with r.ID was put before (the author edited it: a new rating or
	// text, a later UpdatedAt, the same CreatedAt), as the store would
	// show it. It returns the id the plugin lists the review under
	// (usually r.ID).
	//
	// The kit always sets r.CreatedAt and r.UpdatedAt (UTC, whole seconds,
	// in the past; an edit's UpdatedAt later than any date the kit gave
	// before) and r.Country (StoreSuite.Country, default "US"); the view
	// must give the review these dates at the store, not the time of the
	// call. The ids are fresh ("sdktest-review-…"). StoreSuite's comment
	// lists everything PutReview receives and what each check proves.
	PutReview(ctx context.Context, appID string, r sdk.Review) (listedID string, err error)
	// Reply is the developer reply the store shows for a review (by its
	// listed id); ok is false when there is none.
	Reply(ctx context.Context, appID, reviewID string) (text string, ok bool, err error)
	// Calls is the number of requests the store's API has received so far
	// (faults.Faults counts them).
	Calls() int
}

// secretLooking reports whether a setting's key names a credential: its
// last word is token, secret, password, passphrase or credentials, or key
// after another word (api_token, webhook_secret, private_key, apiKey; not
// key_id, an id, nor token_url, an address, nor a lone "key", which names
// anything).
func secretLooking(key string) bool {
	words := strings.FieldsFunc(splitCamel(key), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) == 0 {
		return false
	}
	switch strings.ToLower(words[len(words)-1]) {
	case "token", "secret", "password", "passwd", "passphrase", "credentials", "apikey":
		return true
	case "key":
		return len(words) > 1
	}
	return false
}

// splitCamel puts a space where a camel-case word starts ("apiToken" →
// "api Token", "APIToken" → "API Token").
func splitCamel(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte(' ')
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}
