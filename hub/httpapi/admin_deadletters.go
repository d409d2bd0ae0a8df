package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/bus"
)

// DeadLetterOps are the operations on the bus's dead letters (the same as
// `hub deadletters list|retry|drop`).
type DeadLetterOps interface {
	List(ctx context.Context) ([]bus.DeadLetter, error)
	Retry(ctx context.Context, id int64) error
	Drop(ctx context.Context, id int64) error
}

// BusDeadLetters are the dead letters of a running hub's bus.
type BusDeadLetters struct {
	DL  bus.DeadLetters
	Bus bus.Bus
}

// List returns the dead letters, oldest first.
func (b BusDeadLetters) List(ctx context.Context) ([]bus.DeadLetter, error) { return b.DL.List(ctx) }

// Retry puts a dead letter back on its topic.
func (b BusDeadLetters) Retry(ctx context.Context, id int64) error { return b.DL.Retry(ctx, b.Bus, id) }

// Drop deletes a dead letter.
func (b BusDeadLetters) Drop(ctx context.Context, id int64) error { return b.DL.Drop(ctx, id) }

// registerDeadLetters mounts GET /deadletters, POST /deadletters/{id}/retry
// and DELETE /deadletters/{id}.
func (a *Admin) registerDeadLetters(r *mux.Router) {
	r.HandleFunc("/deadletters", a.listDeadLetters).Methods(http.MethodGet)
	r.HandleFunc("/deadletters/{id}/retry", a.retryDeadLetter).Methods(http.MethodPost)
	r.HandleFunc("/deadletters/{id}", a.dropDeadLetter).Methods(http.MethodDelete)
}

func (a *Admin) deadLetters(w http.ResponseWriter) bool {
	if a.DeadLetters == nil {
		WriteError(w, http.StatusServiceUnavailable, "this hub has no access to its dead letters")
		return false
	}
	return true
}

func (a *Admin) listDeadLetters(w http.ResponseWriter, r *http.Request) {
	if !a.deadLetters(w) {
		return
	}
	list, err := a.DeadLetters.List(r.Context())
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if list == nil {
		list = []bus.DeadLetter{}
	}
	WriteJSON(w, http.StatusOK, list)
}

func deadLetterID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	raw := mux.Vars(r)["id"]
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("dead letter id %q is not a positive number", clip(raw, 32)))
		return 0, false
	}
	return id, true
}

func (a *Admin) retryDeadLetter(w http.ResponseWriter, r *http.Request) {
	a.deadLetterOp(w, r, "queued again", func(ops DeadLetterOps) func(context.Context, int64) error { return ops.Retry })
}

func (a *Admin) dropDeadLetter(w http.ResponseWriter, r *http.Request) {
	a.deadLetterOp(w, r, "dropped", func(ops DeadLetterOps) func(context.Context, int64) error { return ops.Drop })
}

func (a *Admin) deadLetterOp(w http.ResponseWriter, r *http.Request, done string, op func(DeadLetterOps) func(context.Context, int64) error) {
	if !a.deadLetters(w) {
		return
	}
	id, ok := deadLetterID(w, r)
	if !ok {
		return
	}
	err := op(a.DeadLetters)(r.Context(), id)
	switch {
	case errors.Is(err, bus.ErrNoDeadLetter):
		WriteError(w, http.StatusNotFound, fmt.Sprintf("no dead letter %d", id))
	case err != nil:
		WriteError(w, http.StatusInternalServerError, err.Error())
	default:
		WriteJSON(w, http.StatusOK, map[string]any{"id": id, "status": done})
	}
}
