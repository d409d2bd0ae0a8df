package omnidesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/reviewhub/reviewhub/sdk"
)

// Case is an Omnidesk case ("обращение").
type Case struct {
	CaseID       int64          `json:"case_id"`
	CaseNumber   string         `json:"case_number,omitempty"`
	Subject      string         `json:"subject,omitempty"`
	UserID       int64          `json:"user_id,omitempty"`
	Channel      string         `json:"channel,omitempty"`
	Status       string         `json:"status,omitempty"`
	Labels       []int64        `json:"labels,omitempty"`
	CustomFields map[string]any `json:"custom_fields,omitempty"`
}

// NewCase is the body of a case creation.
type NewCase struct {
	UserCustomID string         `json:"user_custom_id"`
	UserFullName string         `json:"user_full_name,omitempty"`
	Subject      string         `json:"subject"`
	Content      string         `json:"content"`
	ContentHTML  string         `json:"content_html,omitempty"`
	Channel      string         `json:"channel"`
	Labels       []int64        `json:"labels,omitempty"`
	CustomFields map[string]any `json:"custom_fields,omitempty"`
}

// Message is a message (or note) of a case.
type Message struct {
	MessageID int64  `json:"message_id"`
	UserID    int64  `json:"user_id,omitempty"`
	StaffID   int64  `json:"staff_id,omitempty"`
	Content   string `json:"content"`
	Note      bool   `json:"note,omitempty"`
	CreatedAt string `json:"created_at,omitempty"`
}

// Label is a case label ("метка").
type Label struct {
	LabelID    int64  `json:"label_id"`
	LabelTitle string `json:"label_title"`
}

// Staff is a staff member ("сотрудник").
type Staff struct {
	StaffID       int64  `json:"staff_id"`
	StaffEmail    string `json:"staff_email"`
	StaffFullName string `json:"staff_full_name,omitempty"`
	Active        bool   `json:"active"`
}

// CustomChannel is a custom channel ("кастомный канал"), as palachX
// laravel-omnidesk's CustomChannelData and its list test show it.
type CustomChannel struct {
	ChannelID     int64  `json:"channel_id"`
	ChannelAPIKey string `json:"channel_api_key,omitempty"` // "cch1" for channel 1
	Title         string `json:"title"`
	ChannelType   string `json:"channel_type,omitempty"` // async or sync
	WebhookURL    string `json:"webhook_url,omitempty"`
	Active        bool   `json:"active"`
}

// Code is how cases refer to the channel: channel_api_key, or "cch" + id
// when the list does not give it (the two agree in every example).
func (c CustomChannel) Code() string {
	if c.ChannelAPIKey != "" {
		return c.ChannelAPIKey
	}
	return "cch" + strconv.FormatInt(c.ChannelID, 10)
}

// CustomField is a custom field ("дополнительное поле").
type CustomField struct {
	FieldID    int64  `json:"field_id"`
	Title      string `json:"title"`
	FieldType  string `json:"field_type,omitempty"`
	FieldLevel string `json:"field_level,omitempty"` // "case" or "user"
	Active     bool   `json:"active"`
}

// Key is how cases carry the field: "cf_" + id.
func (f CustomField) Key() string { return "cf_" + strconv.FormatInt(f.FieldID, 10) }

// FieldKey normalises a case field setting ("cf_123" or "123") to "cf_123".
func FieldKey(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "cf_") {
		return s
	}
	return "cf_" + s
}

// decodeList reads Omnidesk's list answer: an object with entries "0", "1"
// … each wrapping the item under key, plus "total_count".
func decodeList[T any](raw map[string]json.RawMessage, key string) ([]T, int, error) {
	total := -1
	if tc, ok := raw["total_count"]; ok {
		var n json.Number
		if err := json.Unmarshal(tc, &n); err == nil {
			if v, err := n.Int64(); err == nil {
				total = int(v)
			}
		} else {
			var s string
			if json.Unmarshal(tc, &s) == nil {
				if v, err := strconv.Atoi(s); err == nil {
					total = v
				}
			}
		}
	}
	type entry struct {
		idx int
		v   T
	}
	var items []entry
	for k, v := range raw {
		idx, err := strconv.Atoi(k)
		if err != nil {
			continue // total_count and any extra field
		}
		var wrap map[string]json.RawMessage
		if err := json.Unmarshal(v, &wrap); err != nil {
			return nil, 0, fmt.Errorf("list entry %s: %w", k, err)
		}
		inner, ok := wrap[key]
		if !ok {
			return nil, 0, fmt.Errorf("list entry %s has no %q", k, key)
		}
		var item T
		if err := json.Unmarshal(inner, &item); err != nil {
			return nil, 0, fmt.Errorf("list entry %s: %w", k, err)
		}
		items = append(items, entry{idx, item})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].idx < items[j].idx })
	out := make([]T, len(items))
	for i, e := range items {
		out[i] = e.v
	}
	if total < 0 {
		total = len(out)
	}
	return out, total, nil
}

// listAll reads every page of a list endpoint (limit 100, at most 500 pages).
func listAll[T any](ctx context.Context, c *Client, path, key string, q url.Values) ([]T, error) {
	var all []T
	for page := 1; page <= 500; page++ {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("page", strconv.Itoa(page))
		qq.Set("limit", "100")
		var raw map[string]json.RawMessage
		if err := c.Do(ctx, "GET", path, qq, nil, &raw); err != nil {
			return nil, err
		}
		items, total, err := decodeList[T](raw, key)
		if err != nil {
			return nil, fmt.Errorf("omnidesk GET %s: unexpected answer: %w", path, err)
		}
		all = append(all, items...)
		if len(items) < 100 || len(all) >= total {
			break // a short page is the last one
		}
	}
	return all, nil
}

// Exact wraps a list filter value as ^value^: Omnidesk's list filters
// search by substring unless the value is wrapped in ^ (omnidesk.ru/api/
// introduction/intro).
func Exact(v string) string { return "^" + v + "^" }

// FindCases lists the cases of a custom-channel user in a channel, the user
// matched exactly (^…^). An empty answer is no case, whether Omnidesk
// answers 200 with total_count 0 or a 404 with an error code (GUESS: which
// one it gives for an empty filtered list is not documented).
func (c *Client) FindCases(ctx context.Context, userCustomID, channel string) ([]Case, error) {
	q := url.Values{"user_custom_id": {Exact(userCustomID)}, "channel": {channel}}
	cases, err := listAll[Case](ctx, c, "/api/cases.json", "case", q)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound && apiErr.Code != "" {
		return nil, nil
	}
	return cases, err
}

// GetCase reads one case.
func (c *Client) GetCase(ctx context.Context, caseID int64) (Case, error) {
	var out struct {
		Case Case `json:"case"`
	}
	err := c.Do(ctx, "GET", fmt.Sprintf("/api/cases/%d.json", caseID), nil, nil, &out)
	if err == nil && out.Case.CaseID == 0 {
		err = sdk.Errorf(sdk.ErrorKindUnavailable, "omnidesk GET /api/cases/%d.json: the answer has no case", caseID)
	}
	return out.Case, err
}

// CreateCase creates a case.
func (c *Client) CreateCase(ctx context.Context, nc NewCase) (Case, error) {
	var out struct {
		Case Case `json:"case"`
	}
	err := c.Do(ctx, "POST", "/api/cases.json", nil, map[string]any{"case": nc}, &out)
	if err == nil && out.Case.CaseID == 0 {
		err = fmt.Errorf("omnidesk POST /api/cases.json: the answer has no case_id")
	}
	return out.Case, err
}

// EditLabels adds and removes labels of a case with PUT /api/cases/{id}.json
// {"case": {"add_labels": […], "delete_labels": […]}}, as the one public
// client that edits cases does (vragovR/omnidesk-bundle); nothing is sent
// when both are empty.
func (c *Client) EditLabels(ctx context.Context, caseID int64, add, del []int64) error {
	if len(add) == 0 && len(del) == 0 {
		return nil
	}
	edit := map[string]any{}
	if len(add) > 0 {
		edit["add_labels"] = add
	}
	if len(del) > 0 {
		edit["delete_labels"] = del
	}
	return c.Do(ctx, "PUT", fmt.Sprintf("/api/cases/%d.json", caseID), nil, map[string]any{"case": edit}, nil)
}

// LabelDiff is what turns labels have into want: the ids to add and to delete.
func LabelDiff(have, want []int64) (add, del []int64) {
	in := func(list []int64, v int64) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	}
	for _, w := range want {
		if !in(have, w) && !in(add, w) {
			add = append(add, w)
		}
	}
	for _, h := range have {
		if !in(want, h) && !in(del, h) {
			del = append(del, h)
		}
	}
	return add, del
}

// Messages lists a case's messages, oldest first.
func (c *Client) Messages(ctx context.Context, caseID int64) ([]Message, error) {
	return listAll[Message](ctx, c, fmt.Sprintf("/api/cases/%d/messages.json", caseID), "message", nil)
}

// AddMessage adds a message written as the case's user (userID, the
// case's user_id): a customer message, never a staff reply, so it is not
// sent to the custom channel's webhook as an answer.
func (c *Client) AddMessage(ctx context.Context, caseID, userID int64, content string) (Message, error) {
	if userID == 0 {
		return Message{}, sdk.Errorf(sdk.ErrorKindInvalid, "omnidesk: case %d has no user_id: a message must name its author", caseID)
	}
	var out struct {
		Message Message `json:"message"`
	}
	body := map[string]any{"message": map[string]any{"content": content, "content_html": HTML(content), "user_id": userID}}
	err := c.Do(ctx, "POST", fmt.Sprintf("/api/cases/%d/messages.json", caseID), nil, body, &out)
	return out.Message, err
}

// AddNote adds a note, visible to staff only.
func (c *Client) AddNote(ctx context.Context, caseID int64, content string) error {
	body := map[string]any{"note": map[string]any{"content": content, "content_html": HTML(content)}}
	return c.Do(ctx, "POST", fmt.Sprintf("/api/cases/%d/note.json", caseID), nil, body, nil)
}

// HTML renders plain text as HTML: escaped, line breaks as <br>.
func HTML(text string) string {
	return strings.ReplaceAll(html.EscapeString(text), "\n", "<br>\n")
}

// ListLabels lists every label.
func (c *Client) ListLabels(ctx context.Context) ([]Label, error) {
	return listAll[Label](ctx, c, "/api/labels.json", "label", nil)
}

// CreateLabel creates a label.
func (c *Client) CreateLabel(ctx context.Context, title string) (Label, error) {
	var out struct {
		Label Label `json:"label"`
	}
	err := c.Do(ctx, "POST", "/api/labels.json", nil, map[string]any{"label": map[string]any{"label_title": title}}, &out)
	return out.Label, err
}

// LabelCache remembers label ids per account, so a case does not cost a
// label listing; a miss reads the labels again.
type LabelCache struct {
	mu sync.Mutex
	m  map[string]map[string]int64 // account → lower-case title → id
	// fill is held while labels are listed and created after a miss, so
	// concurrent first cases (the hub delivers several at once) list and
	// create each label once instead of racing to create it twice.
	fill sync.Mutex
}

func (c *Client) account() string { return c.BaseURL + "\x00" + c.Email }

// ForgetLabels drops the cached label ids of c's account (a label was deleted).
func (c *Client) ForgetLabels() {
	if c.Labels == nil {
		return
	}
	c.Labels.mu.Lock()
	delete(c.Labels.m, c.account())
	c.Labels.mu.Unlock()
}

func (c *Client) cachedLabels(titles []string) ([]int64, bool) {
	if c.Labels == nil {
		return nil, false
	}
	c.Labels.mu.Lock()
	defer c.Labels.mu.Unlock()
	known := c.Labels.m[c.account()]
	ids := make([]int64, 0, len(titles))
	for _, t := range titles {
		id, ok := known[strings.ToLower(t)]
		if !ok {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

// LabelIDs returns the ids of labels with these titles, creating missing ones.
func (c *Client) LabelIDs(ctx context.Context, titles []string) ([]int64, error) {
	if len(titles) == 0 {
		return nil, nil
	}
	if ids, ok := c.cachedLabels(titles); ok {
		return ids, nil
	}
	if c.Labels != nil {
		c.Labels.fill.Lock()
		defer c.Labels.fill.Unlock()
		if ids, ok := c.cachedLabels(titles); ok {
			return ids, nil // filled while this call waited
		}
	}
	existing, err := c.ListLabels(ctx)
	if err != nil {
		return nil, err
	}
	byTitle := map[string]int64{}
	for _, l := range existing {
		byTitle[strings.ToLower(l.LabelTitle)] = l.LabelID
	}
	ids := make([]int64, 0, len(titles))
	for _, t := range titles {
		id, ok := byTitle[strings.ToLower(t)]
		if !ok {
			l, err := c.CreateLabel(ctx, t)
			if err != nil && sdk.KindOf(err) == sdk.ErrorKindInvalid {
				// Created meanwhile by someone else (another hub): read it.
				if again, lerr := c.ListLabels(ctx); lerr == nil {
					for _, l2 := range again {
						if strings.EqualFold(l2.LabelTitle, t) {
							l, err = l2, nil
						}
					}
				}
			}
			if err != nil {
				return nil, fmt.Errorf("create label %q: %w", t, err)
			}
			id = l.LabelID
			byTitle[strings.ToLower(t)] = id
		}
		ids = append(ids, id)
	}
	if c.Labels != nil {
		c.Labels.mu.Lock()
		if c.Labels.m == nil {
			c.Labels.m = map[string]map[string]int64{}
		}
		c.Labels.m[c.account()] = byTitle
		c.Labels.mu.Unlock()
	}
	return ids, nil
}

// Staff lists the staff members.
func (c *Client) Staff(ctx context.Context) ([]Staff, error) {
	return listAll[Staff](ctx, c, "/api/staff.json", "staff", nil)
}

// CustomChannels lists the custom channels.
func (c *Client) CustomChannels(ctx context.Context) ([]CustomChannel, error) {
	return listAll[CustomChannel](ctx, c, "/api/custom_channels.json", "custom_channel", nil)
}

// CustomFields lists the custom fields.
func (c *Client) CustomFields(ctx context.Context) ([]CustomField, error) {
	return listAll[CustomField](ctx, c, "/api/custom_fields.json", "custom_field", nil)
}
