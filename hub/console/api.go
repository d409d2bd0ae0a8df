package console

import (
	"context"
	"errors"
	"net/http"

	"github.com/ThreeDotsLabs/watermill"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/check"
	"github.com/reviewhub/reviewhub/hub/httpapi"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Admin is what the console reads and does: the admin API's own functions
// (*httpapi.Admin), called with typed values, so the console and the API
// have one path to the state and one set of checks. An *httpapi.Error
// they return is the user's problem (shown with its status); any other
// error is internal (logged, shown as a reference).
type Admin interface {
	InstalledPlugins() []sdk.Info
	Integrations(ctx context.Context) ([]httpapi.IntegrationJSON, error)
	Integration(ctx context.Context, id string) (httpapi.IntegrationJSON, error)
	Create(ctx context.Context, j httpapi.IntegrationJSON) (httpapi.IntegrationJSON, error)
	Update(ctx context.Context, id string, want int, j httpapi.IntegrationJSON) (httpapi.IntegrationJSON, error)
	Status(ctx context.Context, id string) (httpapi.IntegrationStatus, error)
	Check(ctx context.Context, id string) (check.Report, error)
	RetryReply(ctx context.Context, integrationID, messageID string) (httpapi.ReplyJSON, error)
	ListDeadLetters(ctx context.Context) ([]bus.DeadLetter, error)
	RetryDeadLetter(ctx context.Context, id int64) error
	DropDeadLetter(ctx context.Context, id int64) error
}

var _ Admin = (*httpapi.Admin)(nil)

// pageFunc is a console page: it renders on success, or returns the error
// the adapter (Console.handle) shows.
type pageFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts p: an error it returns becomes the error page.
func (c *Console) handle(p pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := p(w, r); err != nil {
			c.failed(w, r, err)
		}
	}
}

// failed shows err on the error page: the user's problem with its status
// and words; a state database that is unavailable as such; anything else
// as a reference to the log line that has the cause (never the cause:
// driver errors name tables and SQL).
func (c *Console) failed(w http.ResponseWriter, r *http.Request, err error) {
	t := c.lang(r).T
	var e *httpapi.Error
	switch {
	case errors.As(err, &e):
		c.renderError(w, r, e.Status, e.Error())
	case state.IsUnavailable(err):
		c.opts.Logger.Warn("console: the state database is unavailable", "path", r.URL.Path, "error", err)
		w.Header().Set("Retry-After", httpapi.StateRetryAfter)
		c.renderError(w, r, http.StatusServiceUnavailable, t["error_unavailable"])
	default:
		ref := watermill.NewShortUUID()
		c.opts.Logger.Error("console: page failed", "path", r.URL.Path, "request_id", ref, "error", err)
		c.renderError(w, r, http.StatusInternalServerError, t["error_internal"]+" "+ref)
	}
}
