package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/httpapi"
)

// The dead letters page: messages that failed for good, grouped by
// integration, in words (what failed, when, why), retried or dropped one
// at a time or all of an integration's at once; a drop is confirmed first.

func (c *Console) deadLetterRoutes(s *mux.Router) {
	s.HandleFunc("/deadletters", c.handle(c.deadLetters)).Methods(http.MethodGet)
	s.HandleFunc("/deadletters/retry-all", c.handle(c.deadLettersAll("retry"))).Methods(http.MethodPost)
	s.HandleFunc("/deadletters/drop-all", c.handle(c.deadLettersAll("drop"))).Methods(http.MethodPost)
	s.HandleFunc("/deadletters/{id}/retry", c.handle(c.deadLetterOp("retry"))).Methods(http.MethodPost)
	s.HandleFunc("/deadletters/{id}/drop", c.handle(c.deadLetterOp("drop"))).Methods(http.MethodPost)
}

// deadLetterView is one dead letter as the page shows it.
type deadLetterView struct {
	bus.DeadLetter
	// Kind says in words what failed (a review on its way to the
	// helpdesk, an answer on its way to the store…), not the topic.
	Kind string
	// When is the failure's time in UTC and how long ago, in the
	// reader's language ("" when the state's time does not parse: then
	// CreatedAt as it is).
	When    string
	Summary string
}

// deadLetterGroup is an integration's dead letters.
type deadLetterGroup struct {
	Integration string // "" for messages that name none
	Letters     []deadLetterView
}

// deadLettersPage is the page's data: the list, or the question before a drop.
type deadLettersPage struct {
	Groups  []*deadLetterGroup
	Confirm *deadLetterConfirm
}

// deadLetterConfirm is what a drop asks about.
type deadLetterConfirm struct {
	Action      string // the form's target
	Integration string // drop-all: whose
	Letters     []deadLetterView
}

// deadLetterKinds names a work topic's failure for people.
var deadLetterKinds = map[string]string{
	bus.TopicReviews:      "dl_kind_reviews",
	bus.TopicReplies:      "dl_kind_replies",
	bus.TopicReplyResults: "dl_kind_reply_results",
}

// deadLetterTimeLayouts are how SQLite and PostgreSQL write created_at as text.
var deadLetterTimeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"}

func (c *Console) viewDeadLetter(t map[string]string, d bus.DeadLetter, now time.Time) deadLetterView {
	v := deadLetterView{DeadLetter: d, Summary: summarize(d.Payload)}
	if k, ok := deadLetterKinds[bus.BaseTopic(d.Topic)]; ok {
		v.Kind = t[k]
	} else {
		v.Kind = d.Topic
	}
	for _, layout := range deadLetterTimeLayouts {
		if at, err := time.ParseInLocation(layout, d.CreatedAt, time.UTC); err == nil {
			v.When = at.UTC().Format("2006-01-02 15:04 UTC") + " · " + ago(t, now.Sub(at))
			break
		}
	}
	return v
}

// ago says how long ago, roughly, in the reader's language.
func ago(t map[string]string, d time.Duration) string {
	switch {
	case d < time.Minute:
		return t["ago_now"]
	case d < time.Hour:
		return fmt.Sprintf(t["ago_minutes"], int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf(t["ago_hours"], int(d/time.Hour))
	default:
		return fmt.Sprintf(t["ago_days"], int(d/(24*time.Hour)))
	}
}

// integrationOf is the integration a dead letter's message belongs to.
func integrationOf(d bus.DeadLetter) string {
	var m struct {
		IntegrationID string `json:"integration_id"`
	}
	_ = json.Unmarshal(d.Payload, &m)
	return m.IntegrationID
}

func (c *Console) deadLetters(w http.ResponseWriter, r *http.Request) error {
	list, err := c.admin.ListDeadLetters(r.Context())
	if err != nil {
		return err
	}
	t := c.lang(r).T
	now := time.Now()
	byIntegration := map[string]*deadLetterGroup{}
	var groups []*deadLetterGroup
	for _, d := range list {
		id := integrationOf(d)
		g := byIntegration[id]
		if g == nil {
			g = &deadLetterGroup{Integration: id}
			byIntegration[id] = g
			groups = append(groups, g)
		}
		g.Letters = append(g.Letters, c.viewDeadLetter(t, d, now))
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].Integration < groups[j].Integration })
	p := page{Title: t["deadletters_title"], Nav: "deadletters", Data: deadLettersPage{Groups: groups}}
	q := r.URL.Query()
	switch {
	case q.Get("retried") != "":
		p.Notice = fmt.Sprintf(t["retried"], q.Get("retried"))
	case q.Get("dropped") != "":
		p.Notice = fmt.Sprintf(t["dropped"], q.Get("dropped"))
	case q.Get("retried_all") != "":
		p.Notice = fmt.Sprintf(t["retried_all"], q.Get("retried_all"), q.Get("integration"))
	case q.Get("dropped_all") != "":
		p.Notice = fmt.Sprintf(t["dropped_all"], q.Get("dropped_all"), q.Get("integration"))
	}
	c.render(w, r, http.StatusOK, "deadletters", p)
	return nil
}

// confirmed tells whether a drop's form is the confirmation page's.
func confirmed(r *http.Request) bool { return r.PostFormValue("confirm") == "yes" }

func (c *Console) deadLetterOp(op string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		raw := mux.Vars(r)["id"]
		id, err := httpapi.ParseDeadLetterID(raw)
		if err != nil {
			return err
		}
		if op == "drop" && !confirmed(r) {
			return c.confirmDrop(w, r, "/console/deadletters/"+raw+"/drop", "", func(d bus.DeadLetter) bool { return d.Offset == id })
		}
		done := "retried"
		if op == "retry" {
			err = c.admin.RetryDeadLetter(r.Context(), id)
		} else {
			done = "dropped"
			err = c.admin.DropDeadLetter(r.Context(), id)
		}
		if err != nil {
			return err
		}
		http.Redirect(w, r, "/console/deadletters?"+done+"="+url.QueryEscape(raw), http.StatusSeeOther)
		return nil
	}
}

// deadLettersAll retries or drops every dead letter of the form's
// integration. The ids are the ones listed when the request is served: a
// letter that fails meanwhile waits for the next time.
func (c *Console) deadLettersAll(op string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		integration := r.PostFormValue("integration")
		if op == "drop" && !confirmed(r) {
			return c.confirmDrop(w, r, "/console/deadletters/drop-all", integration, func(d bus.DeadLetter) bool { return integrationOf(d) == integration })
		}
		list, err := c.admin.ListDeadLetters(r.Context())
		if err != nil {
			return err
		}
		n := 0
		for _, d := range list {
			if integrationOf(d) != integration {
				continue
			}
			if op == "retry" {
				err = c.admin.RetryDeadLetter(r.Context(), d.Offset)
			} else {
				err = c.admin.DropDeadLetter(r.Context(), d.Offset)
			}
			if err != nil {
				return fmt.Errorf("after %d of the dead letters of %q: %w", n, integration, err)
			}
			n++
		}
		done := "retried_all"
		if op == "drop" {
			done = "dropped_all"
		}
		http.Redirect(w, r, "/console/deadletters?"+done+"="+strconv.Itoa(n)+"&integration="+url.QueryEscape(integration), http.StatusSeeOther)
		return nil
	}
}

// confirmDrop shows the dead letters a drop would remove and asks again;
// nothing is dropped until that page's form comes back.
func (c *Console) confirmDrop(w http.ResponseWriter, r *http.Request, action, integration string, which func(bus.DeadLetter) bool) error {
	list, err := c.admin.ListDeadLetters(r.Context())
	if err != nil {
		return err
	}
	t := c.lang(r).T
	conf := deadLetterConfirm{Action: action, Integration: integration}
	now := time.Now()
	for _, d := range list {
		if which(d) {
			conf.Letters = append(conf.Letters, c.viewDeadLetter(t, d, now))
		}
	}
	if len(conf.Letters) == 0 {
		return &httpapi.Error{Status: http.StatusNotFound, Detail: t["dl_none_to_drop"]}
	}
	c.render(w, r, http.StatusOK, "deadletters", page{Title: t["dl_confirm_title"], Nav: "deadletters", Data: deadLettersPage{Confirm: &conf}})
	return nil
}
