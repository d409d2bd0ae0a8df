package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/state"
)

// Error is an answer other than success from the admin API's functions
// (the methods of Admin that the API's handlers and the console both
// call): what the client did or asked that cannot be done, with the HTTP
// status it maps to. Any other error a function returns is internal: the
// client is told only that it failed and the request id it is logged
// under (a state database that is unavailable is told as such, 503).
type Error struct {
	// Status is the HTTP status (4xx, or 503 for a part of the hub that is
	// not there).
	Status int
	// Detail says what is wrong, for people (RFC 9457 "detail").
	Detail string
	// Fields names each wrong field of the input by its path
	// ("apps[0].settings.key_id") and why (422).
	Fields []*config.FieldError
	// RunningOn names the hub (or host) where the work asked for runs
	// already (409 of a history import).
	RunningOn string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Detail
	}
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Field + ": " + f.Reason
	}
	return strings.Join(msgs, "; ")
}

// errorf is an *Error of status with a formatted detail.
func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Detail: fmt.Sprintf(format, args...)}
}

// invalid is the 422 naming each wrong field.
func invalid(errs []*config.FieldError) *Error {
	e := &Error{Status: http.StatusUnprocessableEntity, Fields: errs}
	e.Detail = e.Error()
	return e
}

// Problem is an RFC 9457 problem document, the body of every admin API
// answer of 400 or more (Content-Type application/problem+json).
type Problem struct {
	// Type is "about:blank": the status says what kind of problem it is.
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Fields (an extension) names each wrong field of the input (422).
	Fields []*config.FieldError `json:"fields,omitempty"`
	// RunningOn (an extension) names the hub that runs what was asked
	// for already (409 of a history import started elsewhere).
	RunningOn string `json:"running_on,omitempty"`
	// RequestID (an extension) is what the hub logged the failure under
	// (the client's X-Request-Id when well formed).
	RequestID string `json:"request_id,omitempty"`
}

// ProblemContentType is the media type of a Problem.
const ProblemContentType = "application/problem+json"

// handlerFunc is an admin API handler: it writes the answer on success,
// or returns the error the adapter (Admin.handle) answers.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts h: an error it returns is answered as a problem document.
func (a *Admin) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeProblem(w, r, a.logger(), err)
		}
	}
}

// writeProblem answers err as a problem document: an *Error with its
// status, detail and fields; a state database that is unavailable 503
// with Retry-After; anything else 500, logged with the request id and
// never shown (driver errors name tables and SQL).
func writeProblem(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	id := requestID(r)
	p := Problem{Type: "about:blank", RequestID: id}
	var e *Error
	switch {
	case errors.As(err, &e):
		p.Status, p.Detail, p.Fields, p.RunningOn = e.Status, e.Detail, e.Fields, e.RunningOn
	case state.IsUnavailable(err):
		log.Warn("admin API: the state database is unavailable", "method", r.Method, "path", clip(r.URL.Path, 200),
			"request_id", id, "error", err)
		w.Header().Set("Retry-After", StateRetryAfter)
		p.Status, p.Detail = http.StatusServiceUnavailable, "the hub's state database is unavailable; retry later"
	default:
		log.Error("admin API: internal error", "method", r.Method, "path", clip(r.URL.Path, 200), "request_id", id, "error", err)
		p.Status = http.StatusInternalServerError
		p.Detail = "the hub failed to answer; its log has the cause under request id " + id
	}
	p.Title = http.StatusText(p.Status)
	w.Header().Set("Content-Type", ProblemContentType)
	w.Header().Set("X-Request-Id", id)
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
