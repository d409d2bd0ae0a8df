package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

func (a *Admin) listPlugins(w http.ResponseWriter, _ *http.Request) {
	out := []sdk.Info{}
	for _, name := range a.Plugins() {
		if info, ok := a.Info(name); ok {
			info.Name = name
			out = append(out, info)
		}
	}
	WriteJSON(w, http.StatusOK, out)
}

func (a *Admin) list(w http.ResponseWriter, r *http.Request) {
	all, err := a.DB.Integrations(r.Context())
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := make([]IntegrationJSON, 0, len(all))
	for _, in := range all {
		out = append(out, a.toJSON(in))
	}
	WriteJSON(w, http.StatusOK, out)
}

func (a *Admin) load(w http.ResponseWriter, r *http.Request) (state.Integration, bool) {
	id := mux.Vars(r)["id"]
	in, err := a.DB.Integration(r.Context(), id)
	if errors.Is(err, state.ErrNotFound) {
		WriteError(w, http.StatusNotFound, fmt.Sprintf("no integration %q", clip(id, 64)))
		return in, false
	}
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return in, false
	}
	return in, true
}

// loadWritable is load for a write: an integration declared in the config
// file is answered 409, with where to change it instead (fix).
func (a *Admin) loadWritable(w http.ResponseWriter, r *http.Request, fix string) (state.Integration, bool) {
	in, ok := a.load(w, r)
	if ok && in.Source == state.SourceConfig {
		WriteError(w, http.StatusConflict, fmt.Sprintf("integration %q is declared in the config file, which wins; %s", in.ID, fix))
		return in, false
	}
	return in, ok
}

func (a *Admin) get(w http.ResponseWriter, r *http.Request) {
	if in, ok := a.load(w, r); ok {
		setETag(w, in.Version)
		WriteJSON(w, http.StatusOK, a.toJSON(in))
	}
}

func setETag(w http.ResponseWriter, version int) {
	w.Header().Set("ETag", fmt.Sprintf(`"%d"`, version))
}

// ifMatch returns the version an If-Match header asks for (0: none, or
// "*"); a header that names no version is answered 400 (false).
func ifMatch(w http.ResponseWriter, r *http.Request) (int, bool) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, true
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err := strconv.Atoi(h)
	if err != nil || v <= 0 {
		WriteError(w, http.StatusBadRequest, `If-Match must be a version from an ETag, e.g. "3"`)
		return 0, false
	}
	return v, true
}

func preconditionFailed(w http.ResponseWriter, id string, want, have int) {
	WriteError(w, http.StatusPreconditionFailed, fmt.Sprintf("integration %q is at version %d, not %d: read it again and retry", id, have, want))
}

// saved answers with the stored integration after a write.
func (a *Admin) saved(w http.ResponseWriter, r *http.Request, id string, status int) {
	if a.Changed != nil {
		a.Changed()
	}
	saved, err := a.DB.Integration(r.Context(), id)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	setETag(w, saved.Version)
	WriteJSON(w, status, a.toJSON(saved))
	if len(saved.Apps) > 0 && a.toJSON(saved).Complete {
		a.checkSaved(id)
	}
}

func (a *Admin) create(w http.ResponseWriter, r *http.Request) {
	j, ok := decodeIntegration(w, r)
	if !ok {
		return
	}
	in, errs := a.fromJSON(j, nil)
	if len(errs) > 0 {
		fieldErrors(w, errs)
		return
	}
	// The insert decides, in the transaction: of concurrent creates of one
	// id exactly one succeeds.
	err := a.DB.InTx(r.Context(), func(tx *state.Tx) error { return tx.CreateIntegration(r.Context(), in) })
	if errors.Is(err, state.ErrExists) {
		WriteError(w, http.StatusConflict, fmt.Sprintf("integration %q exists; update it with PUT /api/integrations/%s", in.ID, in.ID))
		return
	}
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "saving the integration failed: "+err.Error())
		return
	}
	a.saved(w, r, in.ID, http.StatusCreated)
}

// putAttempts bounds how often a PUT without a precondition merges again
// with an integration that changed under it.
const putAttempts = 3

// put replaces an integration. The stored secrets it keeps are merged with
// the version it updates, in one conditional write: a racing PUT is merged
// again (or answered 412 when the client named a version with If-Match or
// "version"), and a racing DELETE wins (404), never undone.
func (a *Admin) put(w http.ResponseWriter, r *http.Request) {
	want, ok := ifMatch(w, r)
	if !ok {
		return
	}
	old, ok := a.loadWritable(w, r, "edit the file")
	if !ok {
		return
	}
	j, ok := decodeIntegration(w, r)
	if !ok {
		return
	}
	if j.ID == "" {
		j.ID = old.ID
	}
	if j.ID != old.ID {
		fieldErrors(w, []*config.FieldError{{Field: "id", Reason: fmt.Sprintf("%q does not match the URL's %q", clip(j.ID, 64), old.ID)}})
		return
	}
	if want == 0 {
		want = j.Version
	}
	for attempt := 1; ; attempt++ {
		if want != 0 && want != old.Version {
			preconditionFailed(w, old.ID, want, old.Version)
			return
		}
		in, errs := a.fromJSON(j, &old)
		if len(errs) > 0 {
			fieldErrors(w, errs)
			return
		}
		in.Version = old.Version
		err := a.DB.InTx(r.Context(), func(tx *state.Tx) error { return tx.UpdateIntegration(r.Context(), in) })
		switch {
		case err == nil:
			a.saved(w, r, in.ID, http.StatusOK)
			return
		case errors.Is(err, state.ErrNotFound):
			WriteError(w, http.StatusNotFound, fmt.Sprintf("integration %q was deleted (or declared in the config file) meanwhile", old.ID))
			return
		case !errors.Is(err, state.ErrVersion):
			WriteError(w, http.StatusInternalServerError, "saving the integration failed: "+err.Error())
			return
		case attempt == putAttempts:
			WriteError(w, http.StatusConflict, fmt.Sprintf("integration %q keeps changing under this update; retry", old.ID))
			return
		}
		// Changed under us: merge with what is stored now.
		if old, ok = a.load(w, r); !ok {
			return
		}
		if old.Source == state.SourceConfig {
			WriteError(w, http.StatusConflict, fmt.Sprintf("integration %q is declared in the config file, which wins; edit the file", old.ID))
			return
		}
	}
}

func (a *Admin) delete(w http.ResponseWriter, r *http.Request) {
	want, ok := ifMatch(w, r)
	if !ok {
		return
	}
	old, ok := a.loadWritable(w, r, "remove it there")
	if !ok {
		return
	}
	err := a.DB.InTx(r.Context(), func(tx *state.Tx) error { return tx.DeleteIntegrationAt(r.Context(), old.ID, want) })
	switch {
	case errors.Is(err, state.ErrVersion):
		cur, _ := a.DB.Integration(r.Context(), old.ID)
		preconditionFailed(w, old.ID, want, cur.Version)
		return
	case errors.Is(err, state.ErrNotFound):
		WriteError(w, http.StatusNotFound, fmt.Sprintf("no integration %q", old.ID))
		return
	case err != nil:
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if a.Changed != nil {
		a.Changed()
	}
	w.WriteHeader(http.StatusNoContent)
}
