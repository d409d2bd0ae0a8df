package redact

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestBodyKeepsStructureNotValues(t *testing.T) {
	body := `{"event":"case_closed","created_at":"2025-03-01T10:00:00Z","case_id":123456,
		"api_token":"tok-9f8e7d6c5b4a","nested":{"Signature":{"alg":"hs256","v":"abc"},"password":98765},
		"author":"Ann","staff_email":"ann@example.com","text":"Спасибо, всё работает","phone":79991234567123,
		"list":[1,2,3,4,5,6,7],"ok":true,"none":null,"id":"a8f3c9d2e1b0f7a6"}`
	got := Body([]byte(body))
	var m map[string]any
	if err := json.Unmarshal([]byte(got), &m); err != nil {
		t.Fatalf("redacted body is not JSON: %v\n%s", err, got)
	}
	for _, leak := range []string{"tok-9f8e", "hs256", "98765", "Ann", "ann@example.com", "Спасибо", "79991234567123", "a8f3c9d2"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q leaked: %s", leak, got)
		}
	}
	for _, kept := range []string{`"event":"case_closed"`, `"created_at":"2025-03-01T10:00:00Z"`, `"case_id":123456`,
		`"api_token":"REDACTED"`, `"Signature":"REDACTED"`, `"password":"REDACTED"`, `"text":"\u003c21 chars\u003e"`,
		`"phone":"\u003c14 digits\u003e"`, `"list":[1,2,3,4,5,"\u003c2 more\u003e"]`, `"ok":true`, `"none":null`,
		`"id":"\u003c16 chars\u003e"`, `"staff_email":"\u003c15 chars\u003e"`} {
		if !strings.Contains(got, kept) {
			t.Errorf("missing %s in %s", kept, got)
		}
	}
}

func TestBodyOtherForms(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"event=reply&secret=s3cret&text=Hello+there+friend", "event=reply&secret=REDACTED&text=%3C18+chars%3E"},
		{"<xml>secret</xml>", "<17 bytes, not JSON>"},
		{`{"a":1} {"b":2}`, "<15 bytes, not JSON>"},
		{`"just a string of text"`, `"\u003c21 chars\u003e"`},
	} {
		if got := Body([]byte(tc.in)); got != tc.want {
			t.Errorf("Body(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	huge := `{"list":[` + strings.Repeat(`{"k":"v","n":1},`, 10000) + `{}]}`
	if got := Body([]byte(huge)); len(got) > MaxBody+len("…") {
		t.Errorf("not bounded: %d bytes", len(got))
	}
	var wide strings.Builder
	wide.WriteString(`{"a":1`)
	for i := range 2000 {
		fmt.Fprintf(&wide, `,"field_%d":"v"`, i)
	}
	wide.WriteString(`}`)
	if got := Body([]byte(wide.String())); len(got) > MaxBody+len("…") || !strings.HasSuffix(got, "…") {
		t.Errorf("wide object not bounded: %d bytes", len(got))
	}
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	if got := Body([]byte(deep)); !strings.Contains(got, "too deep") {
		t.Errorf("deep body: %s", got)
	}
}

func TestQueryAndURL(t *testing.T) {
	if got := Query("secret=s3cret&event=x&Token=abc"); got != "Token=REDACTED&event=x&secret=REDACTED" {
		t.Errorf("Query: %s", got)
	}
	if got := Query("a=%zz"); got != "<5 chars, not a query string>" {
		t.Errorf("bad query: %s", got)
	}
	got := URL("https://user:pw@hub.example/hooks/omnidesk/acme?secret=s3cret&x=1#frag")
	if got != "https://user:REDACTED@hub.example/hooks/omnidesk/acme?secret=REDACTED&x=1" {
		t.Errorf("URL: %s", got)
	}
	if got := URL("http://[::1"); strings.Contains(got, "::1") {
		t.Errorf("bad URL: %s", got)
	}
}

func FuzzBody(f *testing.F) {
	f.Add([]byte(`{"secret":"x","a":[1,"two"]}`))
	f.Add([]byte(`a=b&secret=c`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got := Body(body)
		if len(got) > MaxBody+len("…") {
			t.Fatalf("%d bytes", len(got))
		}
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			for k, v := range m {
				if s, ok := v.(string); ok && SecretKey(k) && len(s) > 3 && strings.Contains(got, s) && !strings.Contains(k, s) {
					t.Fatalf("secret value of %q kept: %s", k, got)
				}
			}
		}
	})
}

func TestCutKeepsRunesWhole(t *testing.T) {
	for in, want := range map[string]string{"abc": "abc", "abcd": "abc…", "ééé": "é…", "": ""} {
		if got := Cut(in, 3); got != want {
			t.Errorf("Cut(%q, 3) = %q, want %q", in, got, want)
		}
	}
}
