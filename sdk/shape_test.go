package sdk

import (
	"strconv"
	"strings"
	"testing"
)

func TestShapeOf(t *testing.T) {
	cases := map[string]string{
		`{"type":"message_new","object":{"case_id":1,"content":"secret text","note":false,"x":null,"tags":["a","b"]}}`: `{"object":{"case_id":number,"content":string,"note":bool,"tags":[string]×2,"x":null},"type":string}`,
		`[]`:              `[]`,
		`[{"a":1}]`:       `[{"a":number}]`,
		`"just text"`:     `string`,
		`not json at all`: `not JSON (15 bytes)`,
		``:                `not JSON (0 bytes)`,
	}
	for in, want := range cases {
		if got := ShapeOf([]byte(in)); got != want {
			t.Errorf("ShapeOf(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestShapeOfKeepsNoValues(t *testing.T) {
	got := ShapeOf([]byte(`{"api_key":"CANARY-123","nested":{"token":"CANARY-456"},"list":["CANARY-789"]}`))
	if strings.Contains(got, "CANARY") {
		t.Fatalf("shape leaks a value: %s", got)
	}
}

func TestShapeOfIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 5000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"key` + strings.Repeat("x", 10) + strconv.Itoa(i) + `":1`)
	}
	b.WriteString("}")
	if got := ShapeOf([]byte(b.String())); len(got) > shapeMax+10 {
		t.Fatalf("shape of %d bytes, want at most about %d", len(got), shapeMax)
	}
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	if got := ShapeOf([]byte(deep)); !strings.Contains(got, "…") {
		t.Fatalf("deep nesting not cut: %s", got)
	}
}
