// Package httpapi serves the hub's HTTP endpoints: health, readiness, the
// helpdesk webhooks and the admin API.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/deliver"
	"github.com/reviewhub/reviewhub/hub/metrics"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// MaxWebhookBody is the largest webhook body accepted.
const MaxWebhookBody = 1 << 20

// StateUnavailable is /readyz's answer while the state database cannot be
// read or written.
const StateUnavailable = "state: unavailable (the database cannot be read or written; the cause is in the hub's log)"

// unreadyLog logs why /readyz fails once per cause and minute, not on
// every probe.
type unreadyLog struct {
	mu   sync.Mutex
	last string
	at   time.Time
}

func (u *unreadyLog) log(l *slog.Logger, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err.Error() == u.last && time.Since(u.at) < time.Minute {
		return
	}
	u.last, u.at = err.Error(), time.Now()
	if l != nil {
		l.Warn("not ready: the state database is unavailable", "err", err)
	}
}

// Server holds what the handlers need.
type Server struct {
	unready unreadyLog

	DB        *state.DB
	Deliverer *deliver.Deliverer
	Plugins   deliver.Plugins
	Logger    *slog.Logger
	// Ready reports whether the hub is ready to serve (nil: always).
	Ready func() error
	// Admin, when set, mounts the admin API under /api.
	Admin func(r *mux.Router)
	// Metrics counts webhook calls (nil: not counted).
	Metrics *metrics.Metrics
	// MetricsHandler, when set, is served at /metrics.
	MetricsHandler http.Handler
	// Console, when set, serves the web console under /console/ (and "/"
	// leads there).
	Console http.Handler
	// ConsoleOff, when the console is off (Console nil), is the plain text
	// "/" and /console/ answer: why it is off and how to turn it on.
	ConsoleOff string

	refusals refusalLog
	// decoySecret is the secret of the decoy integration (decoy).
	decoyOnce   sync.Once
	decoySecret string
}

// Refusals returns how many unauthenticated webhook calls were refused,
// by kind (Refused*), since the start.
func (s *Server) Refusals() map[string]int64 { return s.refusals.counts() }

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	r := mux.NewRouter()
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}).Methods(http.MethodGet)
	r.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet)
	r.HandleFunc("/hooks/{plugin}/{integration}", s.webhook)
	if s.MetricsHandler != nil {
		r.Handle("/metrics", s.MetricsHandler).Methods(http.MethodGet)
	}
	if s.Admin != nil {
		r.HandleFunc("/api/openapi.json", serveOpenAPI).Methods(http.MethodGet)
		s.Admin(r.PathPrefix("/api").Subrouter())
	}
	if s.Console != nil {
		r.PathPrefix("/console").Handler(s.Console)
		r.Handle("/", http.RedirectHandler("/console/", http.StatusSeeOther)).Methods(http.MethodGet, http.MethodHead)
	} else if s.ConsoleOff != "" {
		r.Handle("/", s.consoleOff(http.StatusOK)).Methods(http.MethodGet, http.MethodHead)
		r.PathPrefix("/console").Handler(s.consoleOff(http.StatusNotFound))
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg := "no such endpoint: " + clip(r.Method, 16) + " " + clip(r.URL.Path, 200)
		if s.Admin != nil && strings.HasPrefix(r.URL.Path, "/api/") {
			writeProblem(w, r, s.Logger, errorf(http.StatusNotFound, "%s", msg)) // the admin API answers problem documents
			return
		}
		WriteError(w, http.StatusNotFound, msg)
	})
	return r
}

// NewHTTPServer wraps h with the hub's timeouts.
func NewHTTPServer(addr string, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// consoleOff answers with ConsoleOff as plain text.
func (s *Server) consoleOff(status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, s.ConsoleOff)
	})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil {
		if err := s.Ready(); err != nil {
			WriteError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
	}
	if err := s.DB.Unavailable(r.Context()); err != nil {
		// The cause (a driver's error may name hosts, users, databases)
		// goes to the log, not to an unauthenticated caller.
		s.unready.log(s.Logger, err)
		WriteError(w, http.StatusServiceUnavailable, StateUnavailable)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// webhookRefused is the one answer to an unauthenticated webhook call,
// whatever the reason (unknown integration, wrong plugin, wrong or missing
// secret): the answer tells nothing about which integrations exist.
const webhookRefused = "webhook refused: unknown integration or wrong secret"

// webhook hands a helpdesk's call to the integration's helpdesk plugin
// (which authenticates and parses it) and answers with what the plugin
// says, once the replies it carried are recorded.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	pluginName, integrationID := vars["plugin"], vars["integration"]
	cid := requestID(r)
	log := s.Logger.With("plugin", clip(pluginName, 64), "integration", clip(integrationID, 64), "correlation_id", cid)
	w.Header().Set("X-Request-Id", cid)
	in, body, refuse, ok := s.webhookCaller(w, r, log, pluginName, integrationID)
	if !ok {
		return
	}
	hd, info, err := s.Plugins.Helpdesk(pluginName)
	if err != nil && refuse != nil {
		refuse() // no such plugin: nothing to call
		return
	}
	if err != nil {
		log.Error("webhook: the integration's helpdesk plugin is not available", "error", err)
		s.Metrics.Webhook(pluginName, "error")
		w.Header().Set("Retry-After", StateRetryAfter) // helpdesks retry a 503 that says when
		WriteError(w, http.StatusServiceUnavailable, "the helpdesk plugin could not handle the call; try again")
		return
	}
	if refuse != nil {
		// An unknown integration, or another plugin's: the plugin still
		// checks the call, against a decoy integration no caller can
		// authenticate for, so that it takes the same path (and time) as a
		// wrong secret for an existing one; its answer is not used.
		in = s.decoy(info)
	}
	req := sdk.HandleWebhookRequest{
		Settings: in.HelpdeskSettings, IntegrationID: in.ID, Method: r.Method, Path: r.URL.Path,
		Query: r.URL.RawQuery, Body: body, RemoteAddr: r.RemoteAddr,
	}
	for name, values := range r.Header {
		req.Headers = append(req.Headers, sdk.Header{Name: name, Values: values})
	}
	ctx, cancel := context.WithTimeout(sdk.WithRequestID(r.Context(), cid), 30*time.Second)
	defer cancel()
	res, err := hd.HandleWebhook(ctx, req)
	if refuse != nil {
		refuse()
		return
	}
	if err != nil {
		log.Error("webhook: plugin failed", "error", err)
		s.Metrics.Webhook(pluginName, "error")
		w.Header().Set("Retry-After", StateRetryAfter) // helpdesks retry a 503 that says when
		WriteError(w, http.StatusServiceUnavailable, "the helpdesk plugin could not handle the call; try again")
		return
	}
	if !s.webhookOutcome(ctx, w, r, log, in, pluginName, cid, body, res) {
		return
	}
	for _, h := range res.Headers {
		for _, v := range h.Values {
			w.Header().Add(h.Name, v)
		}
	}
	status := res.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(res.Body)
}

// webhookOutcome acts on the plugin's answer: keeps what it could not read,
// queues the replies it carried, counts the outcome. False: answered
// already (the replies could not be recorded, or the plugin refused the
// caller).
func (s *Server) webhookOutcome(ctx context.Context, w http.ResponseWriter, r *http.Request, log *slog.Logger, in state.Integration,
	pluginName, cid string, body []byte, res sdk.HandleWebhookResponse) bool {
	if res.Ignored != nil {
		s.keepIgnored(ctx, log, in, pluginName, r, body, res.Ignored)
		s.Metrics.Webhook(pluginName, "ignored")
	}
	if len(res.Replies) > 0 {
		added, err := s.Deliverer.AcceptReplies(ctx, in, res.Replies, cid)
		if err != nil {
			log.Error("webhook: recording replies failed", "error", err)
			s.Metrics.Webhook(pluginName, "error")
			writeStateError(w, err, "the hub could not record the reply; try again")
			return false
		}
		log.Info("webhook accepted", "replies", len(res.Replies), "new", added)
		s.Metrics.Webhook(pluginName, "accepted")
	} else if res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden {
		s.refusals.note(log, RefusedByPlugin, "webhook refused by plugin", "status", res.Status, "reason", clip(string(res.Body), 200))
		s.Metrics.Webhook(pluginName, "refused")
		WriteError(w, http.StatusUnauthorized, webhookRefused)
		return false
	} else if res.Status >= 400 {
		log.Warn("webhook refused by plugin", "status", res.Status, "reason", clip(string(res.Body), 200))
		if res.Ignored == nil {
			s.Metrics.Webhook(pluginName, "rejected")
		}
	} else if res.Ignored == nil {
		s.Metrics.Webhook(pluginName, "ok")
	}
	return true
}

// webhookCaller reads the webhook's integration and body. For an unknown
// integration, or one of another plugin, refuse is set: it answers the
// call as a wrong secret is answered (every refusal alike), once the
// plugin was called as for a known one. False: answered already.
func (s *Server) webhookCaller(w http.ResponseWriter, r *http.Request, log *slog.Logger, pluginName, integrationID string) (
	in state.Integration, body []byte, refuse func(), ok bool) {
	in, err := s.DB.Integration(r.Context(), integrationID)
	known := err == nil
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		log.Error("webhook: reading integration failed", "error", err)
		s.Metrics.Webhook("", "error")
		writeStateError(w, err, "the hub could not read its state; try again")
		return state.Integration{}, nil, nil, false
	}
	// The body is read (bounded) before anything is refused, so that every
	// refusal looks the same from outside.
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			log.Warn("webhook body too large", "limit", MaxWebhookBody)
			s.Metrics.Webhook("", "too_large")
			WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", MaxWebhookBody))
			return state.Integration{}, nil, nil, false
		}
		log.Warn("webhook body unreadable", "error", err)
		s.Metrics.Webhook("", "unreadable")
		WriteError(w, http.StatusBadRequest, "could not read the body: "+err.Error())
		return state.Integration{}, nil, nil, false
	}
	switch {
	case !known:
		refuse = func() {
			s.refusals.note(log, RefusedUnknownIntegration, "webhook for an unknown integration")
			s.Metrics.Webhook("", "refused")
			WriteError(w, http.StatusUnauthorized, webhookRefused)
		}
	case in.HelpdeskPlugin != pluginName:
		uses := in.HelpdeskPlugin
		refuse = func() {
			s.refusals.note(log, RefusedWrongPlugin, "webhook for a plugin the integration does not use", "uses", uses)
			s.Metrics.Webhook("", "refused")
			WriteError(w, http.StatusUnauthorized, webhookRefused)
		}
	}
	return in, body, refuse, true
}

// decoy is the integration a refused webhook call is checked against
// (webhook): the plugin's settings filled with plausible values (its
// examples and defaults; optional ones left out), and every secret with a
// random one of this process's, which no caller knows.
func (s *Server) decoy(info sdk.Info) state.Integration {
	s.decoyOnce.Do(func() {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		s.decoySecret = hex.EncodeToString(b)
	})
	settings := sdk.Settings{}
	for _, f := range info.Settings {
		switch {
		case f.Secret:
			settings[f.Key] = s.decoySecret
		case f.Example != "":
			settings[f.Key] = f.Example
		case f.Default != "":
			settings[f.Key] = f.Default
		case f.Required:
			settings[f.Key] = "decoy"
		}
	}
	return state.Integration{ID: "decoy", HelpdeskSettings: settings}
}

// StateRetryAfter is the Retry-After (seconds) of a call refused because
// the state database is unavailable.
const StateRetryAfter = "30"

// writeStateError answers a call that failed in the state: 503 with
// Retry-After when the database is unavailable (state.IsUnavailable: the
// deadline passed, the disk is full, …), so the caller retries later,
// else 500.
func writeStateError(w http.ResponseWriter, err error, msg string) {
	if state.IsUnavailable(err) {
		w.Header().Set("Retry-After", StateRetryAfter)
		WriteError(w, http.StatusServiceUnavailable, msg)
		return
	}
	WriteError(w, http.StatusInternalServerError, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteJSON writes v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// WriteError writes {"error": msg}.
func WriteError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
