// Package sdk is what a Reviewhub plugin is written with. A plugin is a
// separate program that the hub starts and calls over gRPC
// (hashicorp/go-plugin); it translates between this package's types and
// one vendor's API and keeps no state of its own.
//
// # Writing a plugin
//
// A store plugin (App Store, Google Play, …) implements StorePlugin; a
// helpdesk plugin (Omnidesk, Zendesk, …) implements HelpdeskPlugin and,
// optionally, AlertPoster. Every method takes a request struct and returns
// a response struct. main hands the implementation to ServeStore or
// ServeHelpdesk:
//
//	func main() {
//		if err := sdk.ServeStore(store{}); err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			os.Exit(1)
//		}
//	}
//
// Plugins written for SDK v0.1 implement Store or Helpdesk (positional
// arguments); ServeStore and ServeHelpdesk still accept them (AdaptStore,
// AdaptHelpdesk), and the conformance kit runs them. Nothing else uses
// those two: the hub's side (sdk/host) hands a plugin out as a
// StorePlugin or HelpdeskPlugin whichever form it was written in.
//
// # What the SDK does before your method is called
//
//   - Settings are trimmed, empty ones get their SettingField.Default, and
//     a call whose Required settings are missing, or whose typed settings
//     (SettingField.Type, Min, Max) are of another form or out of range,
//     fails with an ErrorKindInvalid error naming them (CheckSettings);
//     HandleWebhook gets defaults and type checks but no requirement.
//   - A reply that is empty or longer than StoreCapabilities.ReplyMaxLength
//     is refused (ErrorKindRefused, naming the limit) before PostReply.
//   - Each call's context carries the hub's request id (RequestID, Log) and
//     a counter of vendor requests (CountingTransport, AddCalls) that is
//     reported to the hub for quota budgeting.
//
// # Helpers for the chores every plugin has
//
// Settings.Get, Int, Float, Bool, Duration, List and URL read settings;
// NewHTTPClient makes an HTTP client with timeouts, a response size limit,
// request counting and, with HTTPOptions.Retry, retries of safe requests
// (NewRetryTransport); KindFromHTTPStatus, ParseRetryAfter and
// HTTPError classify a vendor's answer; ReadReplyFirst makes PostReply
// idempotent; ClientCache keeps one vendor client per set of settings;
// ShapeOf describes input the plugin could not read without its values;
// Logger and Log write log lines the hub re-emits with the plugin's name.
//
// # Errors
//
// Return Errorf(kind, …) or RetryAfterError(d, …): the kind (ErrorKind)
// tells the hub whether to retry, wait, or give up and tell a person, and
// it survives the process boundary with the message and RetryAfter.
//
// The conformance kit is sdk/sdktest; sdk/cursor keeps the listing
// contract for stores that list by time; sdk/host is the hub's side of the
// connection. sdk/README.md has the contract in full and a walk-through.
package sdk
