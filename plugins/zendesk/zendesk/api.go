package zendesk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Ticket is what the plugin reads of a ticket.
type Ticket struct {
	ID           int64        `json:"id"`
	ExternalID   string       `json:"external_id"` // null reads as ""
	Subject      string       `json:"subject"`
	Status       string       `json:"status"`
	RequesterID  int64        `json:"requester_id"`
	Tags         []string     `json:"tags"`
	CustomFields []FieldValue `json:"custom_fields"`
	UpdatedAt    string       `json:"updated_at"`
}

// FieldValue is a custom field's value on a ticket.
type FieldValue struct {
	ID    int64 `json:"id"`
	Value any   `json:"value"`
}

// Comment is a ticket comment as listed, or one to add.
type Comment struct {
	ID       int64  `json:"id,omitempty"`
	Body     string `json:"body"`
	Public   *bool  `json:"public,omitempty"`
	AuthorID int64  `json:"author_id,omitempty"`
}

// IsPublic reads a listed comment's public flag (absent: public, Zendesk's
// default).
func (c Comment) IsPublic() bool { return c.Public == nil || *c.Public }

// NewTicket is the body of a ticket create.
type NewTicket struct {
	Subject      string       `json:"subject"`
	Comment      Comment      `json:"comment"`
	ExternalID   string       `json:"external_id"`
	Tags         []string     `json:"tags,omitempty"`
	CustomFields []FieldValue `json:"custom_fields,omitempty"`
	// ViaFollowupSourceID makes the ticket a follow-up of a closed one.
	ViaFollowupSourceID int64 `json:"via_followup_source_id,omitempty"`
}

// TicketUpdate is the body of a ticket update. Tags, when not nil,
// replaces the ticket's tags. With SafeUpdate, Zendesk refuses the update
// (409) when the ticket changed after UpdatedStamp.
type TicketUpdate struct {
	Comment      *Comment     `json:"comment,omitempty"`
	Tags         *[]string    `json:"tags,omitempty"`
	CustomFields []FieldValue `json:"custom_fields,omitempty"`
	SafeUpdate   bool         `json:"safe_update,omitempty"`
	UpdatedStamp string       `json:"updated_stamp,omitempty"`
}

// User is what the plugin reads of a user.
type User struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Role   string `json:"role"`
	Active bool   `json:"active"`
}

// TicketField is what the plugin reads of a ticket field.
type TicketField struct {
	ID     int64  `json:"id"`
	Type   string `json:"type"`
	Title  string `json:"title"`
	Active bool   `json:"active"`
}

func ticketPath(id int64) string { return "/api/v2/tickets/" + strconv.FormatInt(id, 10) }

// CreateTicket creates a ticket (POST /api/v2/tickets).
func (c *Client) CreateTicket(ctx context.Context, t NewTicket) (Ticket, error) {
	var out struct {
		Ticket Ticket `json:"ticket"`
	}
	if err := c.Do(ctx, http.MethodPost, "/api/v2/tickets", nil, map[string]any{"ticket": t}, &out); err != nil {
		return Ticket{}, err
	}
	if out.Ticket.ID == 0 {
		return Ticket{}, fmt.Errorf("zendesk POST /api/v2/tickets: the answer carries no ticket id")
	}
	return out.Ticket, nil
}

// UpdateTicket updates a ticket (PUT /api/v2/tickets/{id}).
func (c *Client) UpdateTicket(ctx context.Context, id int64, u TicketUpdate) (Ticket, error) {
	var out struct {
		Ticket Ticket `json:"ticket"`
	}
	err := c.Do(ctx, http.MethodPut, ticketPath(id), nil, map[string]any{"ticket": u}, &out)
	return out.Ticket, err
}

// GetTicket reads a ticket (GET /api/v2/tickets/{id}).
func (c *Client) GetTicket(ctx context.Context, id int64) (Ticket, error) {
	var out struct {
		Ticket Ticket `json:"ticket"`
	}
	if err := c.Do(ctx, http.MethodGet, ticketPath(id), nil, nil, &out); err != nil {
		return Ticket{}, err
	}
	return out.Ticket, nil
}

// maxPages bounds a listing that keeps offering a next page.
const maxPages = 100

// TicketsByExternalID lists the tickets whose external_id is exactly
// externalID (GET /api/v2/tickets?external_id=…, every page), oldest
// first. Zendesk does not keep external ids unique.
func (c *Client) TicketsByExternalID(ctx context.Context, externalID string) ([]Ticket, error) {
	q := url.Values{"external_id": {externalID}}
	var all []Ticket
	path := "/api/v2/tickets"
	for range maxPages {
		var out struct {
			Tickets  []Ticket `json:"tickets"`
			NextPage *string  `json:"next_page"`
			Meta     struct {
				HasMore     bool   `json:"has_more"`
				AfterCursor string `json:"after_cursor"`
			} `json:"meta"`
		}
		if err := c.Do(ctx, http.MethodGet, path, q, nil, &out); err != nil {
			return nil, err
		}
		for _, t := range out.Tickets {
			if t.ExternalID == externalID {
				all = append(all, t)
			}
		}
		switch {
		case out.Meta.HasMore && out.Meta.AfterCursor != "" && out.Meta.AfterCursor != q.Get("page[after]"):
			q = url.Values{"external_id": {externalID}, "page[after]": {out.Meta.AfterCursor}}
		case out.NextPage != nil && *out.NextPage != "":
			next, err := c.samePath(*out.NextPage)
			if err != nil {
				return nil, err
			}
			path, q = next.Path, next.Query()
		default:
			sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
			return all, nil
		}
	}
	return nil, fmt.Errorf("zendesk: the tickets of external_id %q run past %d pages", externalID, maxPages)
}

// samePath reads a next-page URL, which must point at this account.
func (c *Client) samePath(next string) (*url.URL, error) {
	u, err := url.Parse(next)
	if err != nil {
		return nil, fmt.Errorf("zendesk: next page %q is not a URL", next)
	}
	base, _ := url.Parse(c.BaseURL)
	if u.Host != "" && base != nil && !strings.EqualFold(u.Host, base.Host) {
		return nil, fmt.Errorf("zendesk: next page %q points away from %s", next, base.Host)
	}
	return u, nil
}

// Comments lists every comment of a ticket, oldest first (GET
// /api/v2/tickets/{id}/comments with cursor pagination, 100 a page).
func (c *Client) Comments(ctx context.Context, id int64) ([]Comment, error) {
	var all []Comment
	q := url.Values{"page[size]": {"100"}}
	path := ticketPath(id) + "/comments"
	for range maxPages {
		var out struct {
			Comments []Comment `json:"comments"`
			Meta     struct {
				HasMore     bool   `json:"has_more"`
				AfterCursor string `json:"after_cursor"`
			} `json:"meta"`
			NextPage *string `json:"next_page"`
		}
		if err := c.Do(ctx, http.MethodGet, path, q, nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Comments...)
		switch {
		case out.Meta.HasMore && out.Meta.AfterCursor != "":
			if out.Meta.AfterCursor == q.Get("page[after]") {
				return nil, fmt.Errorf("zendesk: the comments of ticket %d: the cursor %q does not advance", id, out.Meta.AfterCursor)
			}
			q = url.Values{"page[size]": {"100"}, "page[after]": {out.Meta.AfterCursor}}
		case out.NextPage != nil && *out.NextPage != "":
			next, err := c.samePath(*out.NextPage)
			if err != nil {
				return nil, err
			}
			path, q = next.Path, next.Query()
		default:
			return all, nil
		}
	}
	return nil, fmt.Errorf("zendesk: the comments of ticket %d run past %d pages", id, maxPages)
}

// Me reads the user the API token acts as (GET /api/v2/users/me).
func (c *Client) Me(ctx context.Context) (User, error) {
	var out struct {
		User User `json:"user"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/v2/users/me", nil, nil, &out)
	return out.User, err
}

// TicketField reads a ticket field (GET /api/v2/ticket_fields/{id}).
func (c *Client) TicketField(ctx context.Context, id int64) (TicketField, error) {
	var out struct {
		Field TicketField `json:"ticket_field"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/v2/ticket_fields/"+strconv.FormatInt(id, 10), nil, nil, &out)
	return out.Field, err
}

// UnmarshalJSON reads a ticket whose external_id may be null, a string or
// (GUESS) a number.
func (t *Ticket) UnmarshalJSON(b []byte) error {
	type plain Ticket
	var p struct {
		plain
		ExternalID json.RawMessage `json:"external_id"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*t = Ticket(p.plain)
	t.ExternalID = flexString(p.ExternalID)
	return nil
}

// flexString reads a JSON string or number as a string ("" for null or
// anything else).
func flexString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func sortStrings(s []string) { sort.Strings(s) }
