package omnidesk

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseWebhookTolerant(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       StaffAnswer
		err        error
	}{
		{"nested", `{"event":"x","case_id":12,"user_custom_id":"googleplay:r1","message":{"message_id":34,"content":"Hi","staff_full_name":"Sam","created_at":"2026-11-01T10:00:00Z"}}`,
			StaffAnswer{CaseID: "12", MessageID: "34", UserCustomID: "googleplay:r1", Text: "Hi", Staff: "Sam"}, nil},
		{"flat strings, other order", `{"content":"Hello","message_id":"m-9","extra":[1,2],"case_id":"77"}`,
			StaffAnswer{CaseID: "77", MessageID: "m-9", Text: "Hello"}, nil},
		{"under data", `{"data":{"case":{"case_number":"123-456"},"message":{"message_id":5,"content_text":"ok"}}}`,
			StaffAnswer{CaseID: "123-456", MessageID: "5", Text: "ok"}, nil},
		{"note", `{"case_id":1,"message":{"message_id":2,"content":"internal","note":true}}`, StaffAnswer{}, ErrNotAnswer},
		{"no text", `{"case_id":1,"event":"status_changed"}`, StaffAnswer{}, ErrNotAnswer},
	} {
		got, err := ParseWebhook([]byte(tc.body))
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.err)
			continue
		}
		if err == nil && (got.CaseID != tc.want.CaseID || got.MessageID != tc.want.MessageID || got.Text != tc.want.Text ||
			got.UserCustomID != tc.want.UserCustomID || got.Staff != tc.want.Staff) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	for _, bad := range []string{``, `[]`, `{`, `{"case_id":{},"content":"x","message_id":1}`, `{"content":"x","message_id":1}`, `{"case_id":1,"content":"x"}`, `{} {}`} {
		if _, err := ParseWebhook([]byte(bad)); err == nil || errors.Is(err, ErrNotAnswer) {
			t.Errorf("%q: %v, want a parse error", bad, err)
		}
	}
}

func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(`{"case_id":12,"message":{"message_id":34,"content":"Hi"}}`))
	f.Add([]byte(`{"data":{"case":{"case_number":"1"},"message":{"message_id":"5","content_text":"ok","note":false}}}`))
	f.Add([]byte(`{"case_id":1.5e3,"message_id":-1,"content":"\u0000"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseWebhook(body)
		if err == nil && (a.CaseID == "" || a.MessageID == "" || a.Text == "") {
			t.Fatalf("accepted an incomplete answer: %+v", a)
		}
	})
}

func FuzzDecodeList(f *testing.F) {
	f.Add([]byte(`{"0":{"case":{"case_id":1,"labels":[2]}},"1":{"case":{"case_id":3}},"total_count":2}`))
	f.Add([]byte(`{"total_count":"5"}`))
	f.Add([]byte(`{"0":{"message":{}},"x":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var raw map[string]json.RawMessage
		if json.Unmarshal(body, &raw) != nil {
			return
		}
		cases, total, err := decodeList[Case](raw, "case")
		if err == nil && total < 0 {
			t.Fatalf("negative total %d for %d cases", total, len(cases))
		}
	})
}
