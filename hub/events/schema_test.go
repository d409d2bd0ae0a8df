package events

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/reviewhub/reviewhub/hub/busmsg"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Schemas compiles docs/events/TYPE.schema.json of every event type.
func Schemas(t testing.TB) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	out := map[string]*jsonschema.Schema{}
	for _, typ := range Types {
		path, err := filepath.Abs(filepath.Join("..", "..", "docs", "events", typ+".schema.json"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.Compile(path)
		if err != nil {
			t.Fatalf("schema of %s: %v", typ, err)
		}
		out[typ] = s
	}
	return out
}

func validate(t *testing.T, schemas map[string]*jsonschema.Schema, e state.Event) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(e.Payload))
	if err != nil {
		t.Fatalf("%s: %v", e.Type, err)
	}
	s, ok := schemas[e.Type]
	if !ok {
		t.Fatalf("no schema for %s", e.Type)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("%s does not validate against its schema: %v\n%s", e.Type, err, e.Payload)
	}
}

// Every event the hub emits, made by the functions the emitting code
// calls, validates against its documented schema; and what breaks the
// documented shape does not (the schemas are not empty promises).
func TestOutboundWebhookPayloadsValidateAgainstTheirSchemas(t *testing.T) {
	schemas := Schemas(t)
	at := time.Date(2026, 12, 8, 1, 2, 3, 0, time.UTC)
	review := busmsg.Review{IntegrationID: "acme", AppID: "ios", Version: 1, Change: sdk.ReviewChange{Store: "teststore", StoreName: "Test Store",
		AppName: "ACME iOS", Kind: sdk.ChangeKindNew, Review: sdk.Review{ID: "r1", Author: "Ann", Rating: 2, Text: "Crashes", Language: "en",
			CreatedAt: at.Add(-time.Hour)}}}
	var all []state.Event
	add := func(e state.Event, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, e)
	}
	add(ReviewDelivered(review, "T1", at))
	edit := review
	edit.Version, edit.Change.Kind = 2, sdk.ChangeKindBetter
	edit.Change.History = []sdk.ReviewVersion{{Rating: 2}}
	edit.Change.Review.Rating = 4
	add(ReviewDelivered(edit, "T1", at))
	r := state.Reply{IntegrationID: "acme", MessageID: "m1", TicketID: "T1", AppID: "ios", ReviewID: "r1", Text: "Thanks", Staff: "Sam"}
	for _, o := range []string{sdk.OutcomePublished, sdk.OutcomeRefused, sdk.OutcomeFailed} {
		e, ok, err := ReplyOutcome(r, o, "detail", at)
		if !ok {
			t.Fatalf("no event for %s", o)
		}
		add(e, err)
	}
	add(HealthChanged(HealthData{Integration: "acme", App: "ios", Store: "teststore", Health: sdk.HealthFailing, Previous: sdk.HealthOK,
		Reason: "helpdesk refuses", Since: at}, at))
	seen := map[string]bool{}
	for _, e := range all {
		seen[e.Type] = true
		validate(t, schemas, e)
		var env map[string]any
		if err := json.Unmarshal(e.Payload, &env); err != nil || env["type"] != e.Type {
			t.Errorf("%s: envelope %v %v", e.Type, env, err)
		}
	}
	for _, typ := range Types {
		if !seen[typ] {
			t.Errorf("no event of type %s was made", typ)
		}
	}
	// A payload that breaks the shape is refused.
	bad := all[0]
	bad.Payload = bytes.Replace(bad.Payload, []byte(`"rating":2`), []byte(`"rating":7`), 1)
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(bad.Payload))
	if schemas[ReviewCreated].Validate(inst) == nil {
		t.Error("a rating of 7 validates")
	}
	if _, ok, _ := ReplyOutcome(r, "superseded", "", at); ok {
		t.Error("an outcome that is not an event made one")
	}
}

// The id of a review's version is the same every time (a redelivery
// writes the same event), and another version's is another.
func TestOutboundWebhookReviewEventIDsAreDerived(t *testing.T) {
	m := busmsg.Review{IntegrationID: "acme", AppID: "ios", Version: 1, Change: sdk.ReviewChange{Kind: sdk.ChangeKindNew, Review: sdk.Review{ID: "r1", Rating: 1}}}
	a, _ := ReviewDelivered(m, "T1", time.Now())
	b, _ := ReviewDelivered(m, "T1", time.Now().Add(time.Minute))
	m.Version = 2
	c, _ := ReviewDelivered(m, "T1", time.Now())
	if a.ID != b.ID || a.ID == c.ID {
		t.Errorf("ids %s %s %s: want the first two equal, the third another", a.ID, b.ID, c.ID)
	}
}
