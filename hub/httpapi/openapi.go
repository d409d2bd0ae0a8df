package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the admin API's OpenAPI 3.1 document, generated from
// the handlers' Go types by the package's tests (openapi_spec_test.go) and
// checked by them against every route and every request and answer of the
// API tests.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the admin API's OpenAPI 3.1 document (JSON).
func OpenAPI() []byte { return openAPIDocument }

// serveOpenAPI answers GET /api/openapi.json: the document holds no
// secret, and clients read it before they have a token.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(openAPIDocument)
}
