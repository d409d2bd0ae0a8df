package httpapi

import (
	"context"
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

// InstalledPlugins lists the installed plugins with what each says about
// itself (settings, capabilities).
func (a *Admin) InstalledPlugins() []sdk.Info {
	out := []sdk.Info{}
	for _, name := range a.Plugins() {
		if info, ok := a.Info(name); ok {
			info.Name = name
			out = append(out, info)
		}
	}
	return out
}

func (a *Admin) listPlugins(w http.ResponseWriter, _ *http.Request) error {
	WriteJSON(w, http.StatusOK, a.InstalledPlugins())
	return nil
}

// Integrations lists the integrations as the API shows them.
func (a *Admin) Integrations(ctx context.Context) ([]IntegrationJSON, error) {
	all, err := a.DB.Integrations(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the integrations: %w", err)
	}
	out := make([]IntegrationJSON, 0, len(all))
	for _, in := range all {
		out = append(out, a.toJSON(in))
	}
	return out, nil
}

func (a *Admin) list(w http.ResponseWriter, r *http.Request) error {
	out, err := a.Integrations(r.Context())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// load reads a stored integration (404 when there is none).
func (a *Admin) load(ctx context.Context, id string) (state.Integration, error) {
	in, err := a.DB.Integration(ctx, id)
	if errors.Is(err, state.ErrNotFound) {
		return in, errorf(http.StatusNotFound, "no integration %q", clip(id, 64))
	}
	if err != nil {
		return in, fmt.Errorf("reading integration %q: %w", clip(id, 64), err)
	}
	return in, nil
}

// loadWritable is load for a write: an integration declared in the config
// file is answered 409, with where to change it instead (fix).
func (a *Admin) loadWritable(ctx context.Context, id, fix string) (state.Integration, error) {
	in, err := a.load(ctx, id)
	if err == nil && in.Source == state.SourceConfig {
		return in, configDeclared(in.ID, fix)
	}
	return in, err
}

func configDeclared(id, fix string) *Error {
	return errorf(http.StatusConflict, "integration %q is declared in the config file, which wins; %s", id, fix)
}

// Integration reads one integration as the API shows it.
func (a *Admin) Integration(ctx context.Context, id string) (IntegrationJSON, error) {
	in, err := a.load(ctx, id)
	if err != nil {
		return IntegrationJSON{}, err
	}
	return a.toJSON(in), nil
}

func (a *Admin) get(w http.ResponseWriter, r *http.Request) error {
	j, err := a.Integration(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	setETag(w, j.Version)
	WriteJSON(w, http.StatusOK, j)
	return nil
}

func setETag(w http.ResponseWriter, version int) {
	w.Header().Set("ETag", fmt.Sprintf(`"%d"`, version))
}

// ifMatch returns the version an If-Match header asks for (0: none, or
// "*"); a header that names no version is a 400.
func ifMatch(r *http.Request) (int, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err := strconv.Atoi(h)
	if err != nil || v <= 0 {
		return 0, errorf(http.StatusBadRequest, `If-Match must be a version from an ETag, e.g. "3"`)
	}
	return v, nil
}

func preconditionFailed(id string, want, have int) *Error {
	return errorf(http.StatusPreconditionFailed, "integration %q is at version %d, not %d: read it again and retry", id, have, want)
}

// saved returns the stored integration after a write (and tells the
// poller, and checks it in the background).
func (a *Admin) saved(ctx context.Context, id string) (IntegrationJSON, error) {
	if a.Changed != nil {
		a.Changed()
	}
	in, err := a.DB.Integration(ctx, id)
	if err != nil {
		return IntegrationJSON{}, fmt.Errorf("reading integration %q after saving it: %w", id, err)
	}
	j := a.toJSON(in)
	if len(in.Apps) > 0 && j.Complete {
		a.checkSaved(id)
	}
	return j, nil
}

// Create stores a new integration (partial is fine): 422 naming each
// wrong field, 409 when the id exists.
func (a *Admin) Create(ctx context.Context, j IntegrationJSON) (IntegrationJSON, error) {
	in, errs := a.fromJSON(j, nil)
	if len(errs) > 0 {
		return IntegrationJSON{}, invalid(errs)
	}
	// The insert decides, in the transaction: of concurrent creates of one
	// id exactly one succeeds.
	err := a.DB.InTx(ctx, func(tx *state.Tx) error { return tx.CreateIntegration(ctx, in) })
	if errors.Is(err, state.ErrExists) {
		return IntegrationJSON{}, errorf(http.StatusConflict, "integration %q exists; update it with PUT /api/integrations/%s", in.ID, in.ID)
	}
	if err != nil {
		return IntegrationJSON{}, fmt.Errorf("saving integration %q: %w", in.ID, err)
	}
	a.auditIntegration(ctx, "create", nil, &in)
	return a.saved(ctx, in.ID)
}

func (a *Admin) create(w http.ResponseWriter, r *http.Request) error {
	j, err := decodeBody[IntegrationJSON](w, r)
	if err != nil {
		return err
	}
	saved, err := a.Create(r.Context(), j)
	if err != nil {
		return err
	}
	setETag(w, saved.Version)
	WriteJSON(w, http.StatusCreated, saved)
	return nil
}

// putAttempts bounds how often a PUT without a precondition merges again
// with an integration that changed under it.
const putAttempts = 3

// Update replaces integration id with j. want, when not 0, is the version
// it applies to (else 412; j.Version is used when want is 0). The stored
// secrets it keeps are merged with the version it updates, in one
// conditional write: a racing update is merged again (or refused 412 when
// a version was named), and a racing delete wins (404), never undone.
func (a *Admin) Update(ctx context.Context, id string, want int, j IntegrationJSON) (IntegrationJSON, error) {
	old, err := a.loadWritable(ctx, id, "edit the file")
	if err != nil {
		return IntegrationJSON{}, err
	}
	if j.ID == "" {
		j.ID = old.ID
	}
	if j.ID != old.ID {
		return IntegrationJSON{}, invalid([]*config.FieldError{{Field: "id", Reason: fmt.Sprintf("%q does not match the URL's %q", clip(j.ID, 64), old.ID)}})
	}
	if want == 0 {
		want = j.Version
	}
	for attempt := 1; ; attempt++ {
		if want != 0 && want != old.Version {
			return IntegrationJSON{}, preconditionFailed(old.ID, want, old.Version)
		}
		in, errs := a.fromJSON(j, &old)
		if len(errs) > 0 {
			return IntegrationJSON{}, invalid(errs)
		}
		in.Version = old.Version
		err := a.DB.InTx(ctx, func(tx *state.Tx) error { return tx.UpdateIntegration(ctx, in) })
		switch {
		case err == nil:
			a.auditIntegration(ctx, "update", &old, &in)
			return a.saved(ctx, in.ID)
		case errors.Is(err, state.ErrNotFound):
			return IntegrationJSON{}, errorf(http.StatusNotFound, "integration %q was deleted (or declared in the config file) meanwhile", old.ID)
		case !errors.Is(err, state.ErrVersion):
			return IntegrationJSON{}, fmt.Errorf("saving integration %q: %w", old.ID, err)
		case attempt == putAttempts:
			return IntegrationJSON{}, errorf(http.StatusConflict, "integration %q keeps changing under this update; retry", old.ID)
		}
		// Changed under us: merge with what is stored now.
		if old, err = a.loadWritable(ctx, id, "edit the file"); err != nil {
			return IntegrationJSON{}, err
		}
	}
}

func (a *Admin) put(w http.ResponseWriter, r *http.Request) error {
	want, err := ifMatch(r)
	if err != nil {
		return err
	}
	id := mux.Vars(r)["id"]
	if _, err := a.loadWritable(r.Context(), id, "edit the file"); err != nil {
		return err // before the body: a missing integration is 404 whatever was sent
	}
	j, err := decodeBody[IntegrationJSON](w, r)
	if err != nil {
		return err
	}
	saved, err := a.Update(r.Context(), id, want, j)
	if err != nil {
		return err
	}
	setETag(w, saved.Version)
	WriteJSON(w, http.StatusOK, saved)
	return nil
}

// Delete removes integration id (at version want, when not 0).
func (a *Admin) Delete(ctx context.Context, id string, want int) error {
	old, err := a.loadWritable(ctx, id, "remove it there")
	if err != nil {
		return err
	}
	err = a.DB.InTx(ctx, func(tx *state.Tx) error { return tx.DeleteIntegrationAt(ctx, old.ID, want) })
	switch {
	case errors.Is(err, state.ErrVersion):
		cur, err := a.DB.Integration(ctx, old.ID)
		if errors.Is(err, state.ErrNotFound) {
			return errorf(http.StatusNotFound, "no integration %q", old.ID) // removed by another request meanwhile
		}
		if err != nil {
			return fmt.Errorf("reading integration %q after a refused delete: %w", old.ID, err)
		}
		return preconditionFailed(old.ID, want, cur.Version)
	case errors.Is(err, state.ErrNotFound):
		return errorf(http.StatusNotFound, "no integration %q", old.ID)
	case err != nil:
		return fmt.Errorf("deleting integration %q: %w", old.ID, err)
	}
	a.auditIntegration(ctx, "delete", &old, nil)
	if a.Changed != nil {
		a.Changed()
	}
	return nil
}

func (a *Admin) delete(w http.ResponseWriter, r *http.Request) error {
	want, err := ifMatch(r)
	if err != nil {
		return err
	}
	if err := a.Delete(r.Context(), mux.Vars(r)["id"], want); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
