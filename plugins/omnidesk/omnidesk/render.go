package omnidesk

import (
	"github.com/reviewhub/reviewhub/plugins/internal/ticketbody"
	"github.com/reviewhub/reviewhub/sdk"
)

// The ticket text is shared by the helpdesk plugins (plugins/internal/ticketbody).

// Stars renders a rating as ★★☆☆☆.
func Stars(rating int) string { return ticketbody.Stars(rating) }

// Marker is the line that makes a delivery recognisable in a case, so a
// retried delivery is not added twice.
func Marker(key string) string { return ticketbody.Marker(key) }

// Subject of the case for a review.
func Subject(c sdk.ReviewChange) string { return ticketbody.Subject(c) }

// Content of the case (or of the message for an edit).
func Content(c sdk.ReviewChange, key string) string { return ticketbody.Content(c, key) }

// ResultNote is the staff-visible note for a reply's outcome.
func ResultNote(r sdk.ReplyResult) string { return ticketbody.ResultNote(r) }
