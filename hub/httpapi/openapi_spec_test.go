package httpapi

// The admin API's OpenAPI document (openapi.json) is generated from the
// table below and the Go types the handlers read and write, so that the
// schemas cannot drift from the types: `go test ./hub/httpapi -run
// TestOpenAPIDocumentIsCurrent -update` writes it, and the test fails while
// the committed file differs from what the table and the types give. Every
// API test validates its requests and answers against the committed file
// (hub/internal/apitest), which keeps the table true.

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/check"
	"github.com/reviewhub/reviewhub/hub/rules"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

var updateOpenAPI = flag.Bool("update", false, "write openapi.json from the operation table and the Go types")

// specOp is one documented operation.
type specOp struct {
	method, path string
	id, tag      string
	summary      string
	// public: no bearer token needed.
	public bool
	query  []specParam
	// body is the request body's Go type (nil: none).
	body any
	// ok is the success status and its body's Go type (nil: no body);
	// okText is a text/plain success body's description instead.
	okStatus int
	ok       any
	okText   string
	// okMedia, with okText: the success body's media type (default text/plain).
	okMedia string
	// okAny: the body is someone else's (a plugin's answer to its helpdesk).
	okAny bool
	// errors are the documented problem statuses besides the ones every
	// admin operation can answer.
	errors []int
}

type specParam struct {
	name, description string
	schema            *openapi3.Schema
}

// commonAdminErrors can come from any admin API operation: no or a wrong
// token, a role that does not allow it, too many wrong tokens, an internal
// failure, the state unavailable.
var commonAdminErrors = []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable}

// statusBody is {"status": "..."} of /healthz and /readyz.
type statusBody struct {
	Status string `json:"status"`
}

// deadLetterOpBody answers a dead letter's retry or drop.
type deadLetterOpBody struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

// switchBody is the optional body of the automation's stop and start.
type switchBody struct {
	Reason string `json:"reason,omitempty"`
}

func specOps() []specOp {
	intID := "/integrations/{id}"
	return []specOp{
		{method: "GET", path: "/healthz", id: "healthz", tag: "probes", summary: "The process is up", public: true, okStatus: 200, ok: statusBody{}},
		{method: "GET", path: "/readyz", id: "readyz", tag: "probes", summary: "The hub is ready to serve (state, plugins)", public: true, okStatus: 200, ok: statusBody{}, errors: []int{http.StatusServiceUnavailable}},
		{method: "GET", path: "/metrics", id: "metrics", tag: "probes", summary: "Prometheus metrics (text exposition format)", public: true, okStatus: 200, okText: "Prometheus text exposition format"},
		{method: "POST", path: "/hooks/{plugin}/{integration}", id: "webhook", tag: "webhooks", public: true,
			summary:  "A helpdesk's webhook: its body and signature are the helpdesk plugin's to read",
			okStatus: 200, okAny: true, errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable}},
		{method: "GET", path: "/api/openapi.json", id: "openapi", tag: "meta", summary: "This document", public: true, okStatus: 200, ok: map[string]any{}},

		{method: "GET", path: "/api/plugins", id: "listPlugins", tag: "plugins", summary: "Installed plugins with their settings", okStatus: 200, ok: []sdk.Info{}},
		{method: "GET", path: "/api/schedule", id: "schedule", tag: "status", summary: "The poll schedule's state", okStatus: 200, ok: ScheduleView{}},

		{method: "GET", path: "/api/integrations", id: "listIntegrations", tag: "integrations", summary: "All integrations (secrets never shown)", okStatus: 200, ok: []IntegrationJSON{}},
		{method: "POST", path: "/api/integrations", id: "createIntegration", tag: "integrations", summary: "Create an integration (may be incomplete)", body: IntegrationJSON{}, okStatus: 201, ok: IntegrationJSON{},
			errors: []int{400, 409, 413, 415, 422}},
		{method: "GET", path: "/api" + intID, id: "getIntegration", tag: "integrations", summary: "One integration (ETag: its version)", okStatus: 200, ok: IntegrationJSON{}, errors: []int{404}},
		{method: "PUT", path: "/api" + intID, id: "putIntegration", tag: "integrations", summary: "Replace an integration (If-Match or version: only that version)", body: IntegrationJSON{}, okStatus: 200, ok: IntegrationJSON{},
			errors: []int{400, 404, 409, 412, 413, 415, 422}},
		{method: "DELETE", path: "/api" + intID, id: "deleteIntegration", tag: "integrations", summary: "Delete an integration", okStatus: 204, errors: []int{404, 409, 412}},
		{method: "GET", path: "/api" + intID + "/status", id: "integrationStatus", tag: "status", summary: "What works and what does not, per app", okStatus: 200, ok: IntegrationStatus{}, errors: []int{404}},
		{method: "POST", path: "/api" + intID + "/check", id: "checkIntegration", tag: "status", summary: "Check the integration's accounts live", okStatus: 200, ok: check.Report{}, errors: []int{404}},
		{method: "GET", path: "/api" + intID + "/webhooks/ignored", id: "ignoredWebhooks", tag: "status", summary: "Webhook calls the hub could not read (kept)", okStatus: 200, ok: UnreadableList{}, errors: []int{404}},
		{method: "GET", path: "/api" + intID + "/reviews/unreadable", id: "unreadableReviews", tag: "status", summary: "Reviews the hub could not read (kept)", okStatus: 200, ok: UnreadableList{}, errors: []int{400, 404},
			query: []specParam{{name: "app", description: "only this app's", schema: openapi3.NewStringSchema()}}},
		{method: "GET", path: "/api" + intID + "/alerts", id: "getAlerts", tag: "health", summary: "The integration's alert settings", okStatus: 200, ok: AlertsJSON{}, errors: []int{404}},
		{method: "PUT", path: "/api" + intID + "/alerts", id: "putAlerts", tag: "health", summary: "Change the alert settings", body: AlertsJSON{}, okStatus: 200, ok: AlertsJSON{}, errors: []int{400, 404, 409, 413, 415, 422}},

		{method: "GET", path: "/api" + intID + "/apps/{app}/history", id: "listHistoryImports", tag: "history", summary: "An app's history imports, newest first, with their progress", okStatus: 200, ok: []HistoryImportJSON{}, errors: []int{404}},
		{method: "POST", path: "/api" + intID + "/apps/{app}/history", id: "startHistoryImport", tag: "history", summary: "Import an app's reviews of a past range through its store plugin (runs in the background)", body: HistoryRequestJSON{}, okStatus: 202, ok: HistoryImportJSON{}, errors: []int{400, 404, 409, 413, 415, 422}},

		{method: "GET", path: "/api/deadletters", id: "listDeadLetters", tag: "deadletters", summary: "Messages no handler could take", okStatus: 200, ok: []bus.DeadLetter{}},
		{method: "POST", path: "/api/deadletters/{id}/retry", id: "retryDeadLetter", tag: "deadletters", summary: "Put a dead letter back on its topic", okStatus: 200, ok: deadLetterOpBody{}, errors: []int{400, 404}},
		{method: "DELETE", path: "/api/deadletters/{id}", id: "dropDeadLetter", tag: "deadletters", summary: "Drop a dead letter", okStatus: 200, ok: deadLetterOpBody{}, errors: []int{400, 404}},

		{method: "GET", path: "/api" + intID + "/replies", id: "listReplies", tag: "replies", summary: "Answers on their way to the stores, newest first", okStatus: 200, ok: []ReplyJSON{}, errors: []int{400, 404},
			query: []specParam{
				{name: "status", description: "only answers in this state", schema: openapi3.NewStringSchema().WithEnum(stringsAny(replyStatuses)...)},
				{name: "limit", description: "at most this many (default 100)", schema: openapi3.NewIntegerSchema().WithMin(1).WithMax(maxListedReplies)},
			}},
		{method: "POST", path: "/api" + intID + "/replies/{message}/retry", id: "retryReply", tag: "replies", summary: "Queue a failed or refused answer again", okStatus: 202, ok: ReplyJSON{}, errors: []int{404, 409}},
		{method: "GET", path: "/api/approvals", id: "listDrafts", tag: "replies", summary: "Drafts waiting for approval, newest review first, paged by key", okStatus: 200, ok: DraftPageJSON{}, errors: []int{400, 404},
			query: []specParam{
				{name: "integration", description: "only this integration's", schema: openapi3.NewStringSchema()},
				{name: "app", description: "only this app's (with integration)", schema: openapi3.NewStringSchema()},
				{name: "after", description: "the page after this key (next of a page)", schema: openapi3.NewStringSchema()},
				{name: "before", description: "the page before this key (prev of a page)", schema: openapi3.NewStringSchema()},
				{name: "limit", description: "page size (default 50)", schema: openapi3.NewIntegerSchema().WithMin(1).WithMax(state.MaxReviewPage)},
			}},
		{method: "POST", path: "/api" + intID + "/replies/{message}/approve", id: "approveDraft", tag: "replies", summary: "Publish a draft as the caller's answer, as it is or with an edited text", body: ApproveJSON{}, okStatus: 202, ok: ReplyJSON{}, errors: []int{400, 404, 409, 413, 415, 422, 503}},
		{method: "POST", path: "/api" + intID + "/replies/{message}/reject", id: "rejectDraft", tag: "replies", summary: "Reject a draft: nothing is published", okStatus: 200, ok: ReplyJSON{}, errors: []int{404, 409, 503}},
		{method: "GET", path: "/api" + intID + "/reviews/{app}/{review}", id: "reviewStatus", tag: "replies", summary: "A review's ticket and its answers", okStatus: 200, ok: state.ReviewStatus{}, errors: []int{404}},

		{method: "GET", path: "/api/reviews", id: "listReviews", tag: "reviews", summary: "Reviews of every integration, newest first: filtered, searched, paged by key",
			okStatus: 200, ok: ReviewPageJSON{}, errors: []int{400, 404}, query: reviewQuery(true)},
		{method: "GET", path: "/api/reviews/export", id: "exportReviews", tag: "reviews", summary: "Every review the filters select, newest first, as CSV (UTF-8)",
			okStatus: 200, okText: "CSV (RFC 4180) with a header line; a UTF-8 byte order mark first unless bom=0", okMedia: "text/csv", errors: []int{400, 404}, query: append(reviewQuery(false), bomParam)},
		{method: "GET", path: "/api/stats/reviews", id: "reviewStats", tag: "reviews", summary: "Reviews per day by rating, average rating, answered share and time to first answer",
			okStatus: 200, ok: ReviewStatsJSON{}, errors: []int{400, 404}, query: statsQuery()},
		{method: "GET", path: "/api/stats/reviews/export", id: "exportReviewStats", tag: "reviews", summary: "The review statistics per day as CSV (UTF-8)",
			okStatus: 200, okText: "CSV (RFC 4180) with a header line; a UTF-8 byte order mark first unless bom=0", okMedia: "text/csv", errors: []int{400, 404}, query: append(statsQuery(), bomParam)},
		{method: "GET", path: "/api/reviews/{id}/{app}/{review}", id: "getReview", tag: "reviews", summary: "One review: every version, every answer with its status timeline",
			okStatus: 200, ok: ReviewDetailJSON{}, errors: []int{404}},
		{method: "GET", path: "/api" + intID + "/automation", id: "getAutomation", tag: "automation", summary: "Rules, templates, guardrails and the kill switch", okStatus: 200, ok: AutomationJSON{}, errors: []int{404}},
		{method: "PUT", path: "/api" + intID + "/automation", id: "putAutomation", tag: "automation", summary: "Replace the rules and templates", body: rules.Automation{}, okStatus: 200, ok: AutomationJSON{}, errors: []int{400, 404, 409, 412, 413, 415, 422}},
		{method: "POST", path: "/api" + intID + "/automation/stop", id: "stopAutomation", tag: "automation", summary: "The kill switch: no rule runs", body: switchBody{}, okStatus: 200, ok: AutomationJSON{}, errors: []int{400, 404}},
		{method: "POST", path: "/api" + intID + "/automation/start", id: "startAutomation", tag: "automation", summary: "Let the rules run again", body: switchBody{}, okStatus: 200, ok: AutomationJSON{}, errors: []int{400, 404}},
		{method: "POST", path: "/api" + intID + "/automation/preview", id: "previewRule", tag: "automation", summary: "Try one rule on the newest reviews: which it matches, what it would answer", body: PreviewRequestJSON{}, okStatus: 200, ok: PreviewJSON{}, errors: []int{400, 404, 413, 415, 422}},
		{method: "GET", path: "/api" + intID + "/templates", id: "listTemplates", tag: "automation", summary: "The answer templates", okStatus: 200, ok: []rules.Template{}, errors: []int{404}},
		{method: "GET", path: "/api" + intID + "/rules", id: "listRules", tag: "automation", summary: "The rules", okStatus: 200, ok: []rules.Rule{}, errors: []int{404}},

		{method: "GET", path: "/api/tokens", id: "listTokens", tag: "tokens", summary: "Personal API tokens (admin; never their values)", okStatus: 200, ok: []state.APIToken{}},
		{method: "POST", path: "/api/tokens", id: "createToken", tag: "tokens", summary: "Make a personal API token (admin); the answer's token is shown this once",
			body: NewTokenJSON{}, okStatus: 201, ok: TokenJSON{}, errors: []int{400, 413, 415, 422}},
		{method: "DELETE", path: "/api/tokens/{id}", id: "revokeToken", tag: "tokens", summary: "Revoke a personal API token (admin): refused from the next request on", okStatus: 204, errors: []int{404}},
		{method: "GET", path: "/api/webhooks", id: "listWebhookEndpoints", tag: "outbound-webhooks", summary: "Outbound webhook endpoints (never their secrets)", okStatus: 200, ok: []state.WebhookEndpoint{}},
		{method: "POST", path: "/api/webhooks", id: "createWebhookEndpoint", tag: "outbound-webhooks", summary: "Make an outbound webhook endpoint (admin); the answer's whsec_ secret is shown this once",
			body: WebhookEndpointInput{}, okStatus: 201, ok: WebhookEndpointJSON{}, errors: []int{400, 409, 413, 415, 422}},
		{method: "GET", path: "/api/webhooks/{id}", id: "getWebhookEndpoint", tag: "outbound-webhooks", summary: "One outbound webhook endpoint", okStatus: 200, ok: state.WebhookEndpoint{}, errors: []int{404}},
		{method: "PUT", path: "/api/webhooks/{id}", id: "putWebhookEndpoint", tag: "outbound-webhooks", summary: "Change an endpoint's URL, events, integration, description (admin; not the configuration file's)",
			body: WebhookEndpointInput{}, okStatus: 200, ok: state.WebhookEndpoint{}, errors: []int{400, 404, 409, 413, 415, 422}},
		{method: "DELETE", path: "/api/webhooks/{id}", id: "deleteWebhookEndpoint", tag: "outbound-webhooks", summary: "Delete an endpoint with its deliveries (admin; not the configuration file's)", okStatus: 204, errors: []int{404, 409}},
		{method: "POST", path: "/api/webhooks/{id}/enable", id: "enableWebhookEndpoint", tag: "outbound-webhooks", summary: "Turn a disabled endpoint on again, its failing time reset (admin)", okStatus: 200, ok: state.WebhookEndpoint{}, errors: []int{404}},
		{method: "GET", path: "/api/webhooks/{id}/deliveries", id: "listWebhookDeliveries", tag: "outbound-webhooks", summary: "An endpoint's delivery log, newest first: status, attempts with their answers, next try",
			okStatus: 200, ok: []state.WebhookDelivery{}, errors: []int{404, 422},
			query: []specParam{{name: "limit", description: "at most this many (default 50)", schema: openapi3.NewIntegerSchema().WithMin(1).WithMax(maxListedDeliveries)}}},
		{method: "POST", path: "/api/webhooks/{id}/deliveries/{event}/replay", id: "replayWebhookDelivery", tag: "outbound-webhooks", summary: "Send one delivery again now, with a fresh retry schedule (admin)",
			okStatus: 202, ok: state.WebhookDelivery{}, errors: []int{404}},
		{method: "GET", path: "/api/audit", id: "audit", tag: "audit", summary: "The audit log, newest first, by pages", okStatus: 200, ok: AuditPage{}, errors: []int{400}, query: auditQuery(true)},
		{method: "GET", path: "/api/audit/export", id: "auditExport", tag: "audit", summary: "Every audit entry the filters select, as JSON lines", okStatus: 200,
			okText: "one state.AuditEntry per line, newest first", okMedia: "application/jsonl", errors: []int{400}, query: auditQuery(false)},
	}
}

// reviewQuery is the review list's filters (and, for pages, after, before and limit).
func reviewQuery(pages bool) []specParam {
	q := []specParam{
		{name: "integration", description: "only this integration's", schema: openapi3.NewStringSchema()},
		{name: "app", description: "only this app's (with integration)", schema: openapi3.NewStringSchema()},
		{name: "store", description: "only apps of this store plugin", schema: openapi3.NewStringSchema()},
		{name: "rating", description: "any of these ratings (1-5; repeated or comma-separated)", schema: openapi3.NewStringSchema()},
		{name: "reply", description: "reply status (none: never answered)", schema: openapi3.NewStringSchema().WithEnum(stringsAny(ReviewReplyStatuses)...)},
		{name: "language", description: "language tag, or its primary subtag (pt selects pt-BR)", schema: openapi3.NewStringSchema()},
		{name: "from", description: "store date from (YYYY-MM-DD or RFC 3339)", schema: openapi3.NewStringSchema()},
		{name: "until", description: "store date until (YYYY-MM-DD inclusive, or RFC 3339)", schema: openapi3.NewStringSchema()},
		{name: "q", description: "search: every term in title, text or author (words from their start; CJK and Thai anywhere)", schema: openapi3.NewStringSchema()},
	}
	if pages {
		q = append(q,
			specParam{name: "after", description: "the next page: a page's next", schema: openapi3.NewStringSchema()},
			specParam{name: "before", description: "the previous page: a page's prev", schema: openapi3.NewStringSchema()},
			specParam{name: "limit", description: "page size (default 50)", schema: openapi3.NewIntegerSchema().WithMin(1).WithMax(state.MaxReviewPage)})
	}
	return q
}

// statsQuery is the review statistics' parameters.
func statsQuery() []specParam {
	return []specParam{
		{name: "integration", description: "only this integration's (default: all)", schema: openapi3.NewStringSchema()},
		{name: "app", description: "only this app's (with integration)", schema: openapi3.NewStringSchema()},
		{name: "days", description: "the period's length in days (default 30)", schema: openapi3.NewIntegerSchema().WithMin(1).WithMax(state.MaxStatsDays)},
		{name: "until", description: "the period's last day (YYYY-MM-DD, UTC; default today)", schema: openapi3.NewStringSchema()},
	}
}

var bomParam = specParam{name: "bom", description: "0: no UTF-8 byte order mark (default: one, for spreadsheets)", schema: openapi3.NewStringSchema().WithEnum("0", "1")}

// auditQuery is the audit log's filters (and, for pages, before and limit).
func auditQuery(pages bool) []specParam {
	q := []specParam{
		{name: "who", description: "the principal's subject or name", schema: openapi3.NewStringSchema()},
		{name: "kind", description: "only entries of this kind", schema: openapi3.NewStringSchema().WithEnum(stringsAny(AuditKinds)...)},
		{name: "integration", description: "only entries of this integration", schema: openapi3.NewStringSchema()},
		{name: "since", description: "from this time on (RFC 3339, or a date 2026-01-31)", schema: openapi3.NewStringSchema()},
		{name: "until", description: "before this time (RFC 3339, or a date)", schema: openapi3.NewStringSchema()},
	}
	if pages {
		q = append(q,
			specParam{name: "before", description: "entries older than this id (the previous page's next)", schema: openapi3.NewInt64Schema().WithMin(0)},
			specParam{name: "limit", description: "at most this many (default 100)", schema: openapi3.NewIntegerSchema().WithMin(0).WithMax(maxAuditPage)})
	}
	return q
}

func stringsAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// jsonSchemaOverrides are the types whose JSON is not what their Go fields
// say (they have their own MarshalJSON).
func jsonSchemaOverrides() map[reflect.Type]*openapi3.Schema {
	return map[reflect.Type]*openapi3.Schema{
		reflect.TypeOf(rules.Duration{}):  openapi3.NewStringSchema().WithPattern(`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$`),
		reflect.TypeOf(json.RawMessage{}): {},
	}
}

// buildOpenAPI makes the document from specOps and the Go types.
func buildOpenAPI() (*openapi3.T, error) {
	doc := &openapi3.T{
		OpenAPI: "3.1.0",
		Info: &openapi3.Info{
			Title:   "Reviewhub admin API",
			Version: "1",
			Description: "The hub's admin API, its probes and the helpdesks' webhooks. Every answer of 400 or more " +
				"is an RFC 9457 problem document (application/problem+json). Sign in with `Authorization: Bearer TOKEN`. " +
				"Generated from the handlers' Go types (hub/httpapi/openapi_spec_test.go); docs/admin-api.md explains each part.",
			License: &openapi3.License{Name: "Apache-2.0"},
		},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: openapi3.Schemas{},
			SecuritySchemes: openapi3.SecuritySchemes{
				"bearer": &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme().WithBearerFormat("opaque")},
			},
			Responses: openapi3.ResponseBodies{},
		},
	}
	doc.Components.SecuritySchemes["bearer"].Value.BearerFormat = ""

	overrides := jsonSchemaOverrides()
	typeName := func(t reflect.Type) string {
		pkg := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
		if pkg == "httpapi" || pkg == "" {
			return t.Name()
		}
		return pkg + "." + t.Name()
	}
	gen := openapi3gen.NewGenerator(
		openapi3gen.UseAllExportedFields(),
		openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{ExportComponentSchemas: true, ExportTopLevelSchema: true}),
		openapi3gen.CreateTypeNameGenerator(typeName),
		openapi3gen.SchemaCustomizer(func(_ string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
			if o, ok := overrides[t]; ok {
				*s = *o
				return nil
			}
			// A field that omitempty leaves out or a nil slice or map
			// written as null: JSON's null is one of its values.
			if (t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Pointer) && s.Type != nil {
				s.Type = &openapi3.Types{(*s.Type)[0], "null"}
			}
			return nil
		}),
	)
	schemaFor := func(v any) (*openapi3.SchemaRef, error) {
		if t := reflect.TypeOf(v); t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct {
			// The element first, so that it is a component the array refers to.
			if _, err := gen.NewSchemaRefForValue(reflect.Zero(t.Elem()).Interface(), doc.Components.Schemas); err != nil {
				return nil, fmt.Errorf("schema of %s: %w", t.Elem(), err)
			}
		}
		ref, err := gen.NewSchemaRefForValue(v, doc.Components.Schemas)
		if err != nil {
			return nil, fmt.Errorf("schema of %T: %w", v, err)
		}
		return ref, nil
	}
	problemRef, err := schemaFor(Problem{})
	if err != nil {
		return nil, err
	}
	doc.Components.Responses["Problem"] = &openapi3.ResponseRef{Value: openapi3.NewResponse().
		WithDescription("An RFC 9457 problem document: what is wrong (detail), each wrong field of a 422 (fields), the request id the hub logged it under").
		WithContent(openapi3.NewContentWithSchemaRef(problemRef, []string{ProblemContentType}))}
	// The probes and webhooks answer {"error": "..."} (not problem
	// documents: their callers are load balancers and helpdesks).
	errorBody := openapi3.NewObjectSchema().WithProperty("error", openapi3.NewStringSchema())
	doc.Components.Responses["Error"] = &openapi3.ResponseRef{Value: openapi3.NewResponse().
		WithDescription(`{"error": "what is wrong"}`).WithJSONSchema(errorBody)}

	for _, op := range specOps() {
		o := &openapi3.Operation{OperationID: op.id, Summary: op.summary, Tags: []string{op.tag}, Responses: openapi3.NewResponses()}
		o.Responses.Delete("default")
		if op.public {
			o.Security = &openapi3.SecurityRequirements{}
		} else {
			o.Security = &openapi3.SecurityRequirements{{"bearer": []string{}}}
		}
		for _, name := range pathParams(op.path) {
			o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: openapi3.NewPathParameter(name).WithSchema(openapi3.NewStringSchema())})
		}
		for _, q := range op.query {
			p := openapi3.NewQueryParameter(q.name).WithSchema(q.schema)
			p.Description = q.description
			o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: p})
		}
		if op.body != nil {
			s, err := schemaFor(op.body)
			if err != nil {
				return nil, err
			}
			_, optional := op.body.(switchBody)
			rb := openapi3.NewRequestBody().WithJSONSchemaRef(s)
			rb.Required = !optional
			o.RequestBody = &openapi3.RequestBodyRef{Value: rb}
		}
		ok := openapi3.NewResponse().WithDescription(http.StatusText(op.okStatus))
		switch {
		case op.okAny:
			ok.WithContent(openapi3.NewContentWithSchema(&openapi3.Schema{}, []string{"*/*"}))
			ok.Description = ptr("the helpdesk plugin's answer to its helpdesk, as the plugin wrote it")
		case op.okText != "":
			media := "text/plain"
			if op.okMedia != "" {
				media = op.okMedia
			}
			ok.WithContent(openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{media}))
			ok.Description = &op.okText
		case op.ok != nil:
			s, err := schemaFor(op.ok)
			if err != nil {
				return nil, err
			}
			ok.WithJSONSchemaRef(s)
		}
		o.Responses.Set(fmt.Sprint(op.okStatus), &openapi3.ResponseRef{Value: ok})
		errs := op.errors
		if !op.public {
			errs = append(append([]int{}, errs...), commonAdminErrors...)
		}
		sort.Ints(errs)
		for _, code := range errs {
			if o.Responses.Value(fmt.Sprint(code)) != nil {
				continue
			}
			r := &openapi3.ResponseRef{Ref: "#/components/responses/Problem"}
			if op.path == "/readyz" || strings.HasPrefix(op.path, "/hooks/") {
				r = &openapi3.ResponseRef{Ref: "#/components/responses/Error"}
			}
			o.Responses.Set(fmt.Sprint(code), r)
		}
		doc.AddOperation(op.path, op.method, o)
	}
	// A pointer to a struct that encoding/json writes even when nil (no
	// omitempty) may be null: the generator's reference says only the struct.
	var types []reflect.Type
	for _, op := range specOps() {
		for _, v := range []any{op.body, op.ok} {
			if v != nil {
				types = append(types, reflect.TypeOf(v))
			}
		}
	}
	nullablePointers(doc, typeName, types, map[reflect.Type]bool{})
	// A type of its own JSON is referenced by name; its schema is the override.
	for t, o := range overrides {
		if name := typeName(t); name != "" {
			if _, ok := doc.Components.Schemas[name]; !ok && strings.Contains(mustJSON(doc), `"#/components/schemas/`+name+`"`) {
				doc.Components.Schemas[name] = &openapi3.SchemaRef{Value: o}
			}
		}
	}
	return doc, nil
}

// nullablePointers makes each struct field of the types (and the types
// they hold) that is a pointer to a struct, written as null when nil, a
// reference or null.
func nullablePointers(doc *openapi3.T, typeName func(reflect.Type) string, types []reflect.Type, seen map[reflect.Type]bool) {
	for _, t := range types {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			continue
		}
		seen[t] = true
		comp := doc.Components.Schemas[typeName(t)]
		var inner []reflect.Type
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			inner = append(inner, f.Type)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || f.Anonymous || f.Type.Kind() != reflect.Pointer || strings.Contains(opts, "omitempty") || comp == nil || comp.Value == nil {
				continue
			}
			if name == "" {
				name = f.Name
			}
			prop := comp.Value.Properties[name]
			if prop == nil || prop.Ref == "" {
				continue
			}
			comp.Value.Properties[name] = &openapi3.SchemaRef{Value: &openapi3.Schema{AnyOf: openapi3.SchemaRefs{
				{Ref: prop.Ref}, {Value: &openapi3.Schema{Type: &openapi3.Types{"null"}}},
			}}}
		}
		nullablePointers(doc, typeName, inner, seen)
	}
}

func ptr[T any](v T) *T { return &v }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// pathParams returns the {names} of a path template in order.
func pathParams(path string) []string {
	var out []string
	for _, part := range strings.Split(path, "/") {
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			out = append(out, part[1:len(part)-1])
		}
	}
	return out
}

// openAPIJSON renders doc as the committed file's bytes.
func openAPIJSON(doc *openapi3.T) ([]byte, error) {
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func writeOpenAPI(b []byte) error { return os.WriteFile("openapi.json", b, 0o644) }
