package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// shapeMax bounds the length of a shape; longer ones end in "…".
const shapeMax = 2000

// ShapeOf describes a JSON document by its structure alone: object keys with
// the type of each value ("string", "number", "bool", "null"), arrays by
// their first element and length. No value is kept, so a shape is safe to
// log and store even when the document carries secrets or personal data.
// A body that is not JSON is described by its length.
//
//	ShapeOf([]byte(`{"type":"message_new","object":{"id":1,"tags":["a","b"]}}`))
//	// {"object":{"id":number,"tags":[string]×2},"type":string}
func ShapeOf(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Sprintf("not JSON (%d bytes)", len(body))
	}
	var b strings.Builder
	writeShape(&b, v, 0)
	s := b.String()
	if len(s) > shapeMax {
		cut := shapeMax
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func isRuneStart(c byte) bool { return c&0xC0 != 0x80 }

func writeShape(b *strings.Builder, v any, depth int) {
	if b.Len() > shapeMax {
		return
	}
	if depth > 16 {
		b.WriteString("…")
		return
	}
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			writeShape(b, t[k], depth+1)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		if len(t) > 0 {
			writeShape(b, t[0], depth+1)
		}
		b.WriteByte(']')
		if len(t) > 1 {
			fmt.Fprintf(b, "×%d", len(t))
		}
	case string:
		b.WriteString("string")
	case json.Number:
		b.WriteString("number")
	case bool:
		b.WriteString("bool")
	case nil:
		b.WriteString("null")
	}
}
