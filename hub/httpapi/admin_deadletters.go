package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/bus"
	"github.com/reviewhub/reviewhub/hub/state"
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
	r.HandleFunc("/deadletters", a.handle(a.listDeadLetters)).Methods(http.MethodGet)
	r.HandleFunc("/deadletters/{id}/retry", a.handle(a.retryDeadLetter)).Methods(http.MethodPost)
	r.HandleFunc("/deadletters/{id}", a.handle(a.dropDeadLetter)).Methods(http.MethodDelete)
}

func (a *Admin) deadLetters() (DeadLetterOps, error) {
	if a.DeadLetters == nil {
		return nil, errorf(http.StatusServiceUnavailable, "this hub has no access to its dead letters")
	}
	return a.DeadLetters, nil
}

// ListDeadLetters lists the messages that failed for good, oldest first.
func (a *Admin) ListDeadLetters(ctx context.Context) ([]bus.DeadLetter, error) {
	ops, err := a.deadLetters()
	if err != nil {
		return nil, err
	}
	list, err := ops.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the dead letters: %w", err)
	}
	if list == nil {
		list = []bus.DeadLetter{}
	}
	return list, nil
}

func (a *Admin) listDeadLetters(w http.ResponseWriter, r *http.Request) error {
	list, err := a.ListDeadLetters(r.Context())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, list)
	return nil
}

// ParseDeadLetterID reads a dead letter's id from a path (400 when it is
// not a positive number).
func ParseDeadLetterID(raw string) (int64, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, errorf(http.StatusBadRequest, "dead letter id %q is not a positive number", clip(raw, 32))
	}
	return id, nil
}

// RetryDeadLetter puts dead letter id back on its topic (404 when there
// is none).
func (a *Admin) RetryDeadLetter(ctx context.Context, id int64) error {
	if err := a.deadLetterOp(ctx, id, "retrying", DeadLetterOps.Retry); err != nil {
		return err
	}
	a.record(ctx, state.AuditEntry{Kind: KindDeadLetter, Action: "retry", Target: strconv.FormatInt(id, 10)})
	return nil
}

// DropDeadLetter deletes dead letter id (404 when there is none).
func (a *Admin) DropDeadLetter(ctx context.Context, id int64) error {
	if err := a.deadLetterOp(ctx, id, "dropping", DeadLetterOps.Drop); err != nil {
		return err
	}
	a.record(ctx, state.AuditEntry{Kind: KindDeadLetter, Action: "drop", Target: strconv.FormatInt(id, 10)})
	return nil
}

func (a *Admin) deadLetterOp(ctx context.Context, id int64, doing string, op func(DeadLetterOps, context.Context, int64) error) error {
	ops, err := a.deadLetters()
	if err != nil {
		return err
	}
	err = op(ops, ctx, id)
	switch {
	case errors.Is(err, bus.ErrNoDeadLetter):
		return errorf(http.StatusNotFound, "no dead letter %d", id)
	case err != nil:
		return fmt.Errorf("%s dead letter %d: %w", doing, id, err)
	}
	return nil
}

func (a *Admin) retryDeadLetter(w http.ResponseWriter, r *http.Request) error {
	return a.answerDeadLetterOp(w, r, "queued again", a.RetryDeadLetter)
}

func (a *Admin) dropDeadLetter(w http.ResponseWriter, r *http.Request) error {
	return a.answerDeadLetterOp(w, r, "dropped", a.DropDeadLetter)
}

func (a *Admin) answerDeadLetterOp(w http.ResponseWriter, r *http.Request, done string, op func(context.Context, int64) error) error {
	if _, err := a.deadLetters(); err != nil {
		return err
	}
	id, err := ParseDeadLetterID(mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	if err := op(r.Context(), id); err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"id": id, "status": done})
	return nil
}
