package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// HistoryImport is one import of an app's past reviews (issue 27): the
// store plugin's History over [From, To), page by page.
type HistoryImport struct {
	IntegrationID, AppID string
	From, To             time.Time
	// Cursor is the plugin's cursor after the last page applied; empty
	// before the first.
	Cursor string
	Pages  int64
	// Done of Total: progress in the plugin's units (Total 0: unknown).
	Done, Total int64
	// Reviews seen, Queued for the helpdesk, RatingOnly left out by the
	// plugin, Unreadable items.
	Reviews, Queued, RatingOnly, Unreadable int64
	// CompleteUntil: the store's history is complete up to it (zero: to To).
	CompleteUntil              time.Time
	Started, Updated, Finished time.Time
	LastError                  string
}

// Running reports whether the import has begun and not finished.
func (h HistoryImport) Running() bool { return !h.Started.IsZero() && h.Finished.IsZero() }

// HistoryImport reads the import of [from, to) of an app; found is false
// when there is none.
func (d *DB) HistoryImport(ctx context.Context, integrationID, appID string, from, to time.Time) (h HistoryImport, found bool, err error) {
	h = HistoryImport{IntegrationID: integrationID, AppID: appID, From: from.UTC(), To: to.UTC()}
	var cu, st, up, fi int64
	err = d.queryRow(ctx, `SELECT cursor, pages, done, total, reviews, queued, rating_only, unreadable, complete_until_ms,
			started_ms, updated_ms, finished_ms, last_error
		FROM history_imports WHERE integration_id = ? AND app_id = ? AND from_ms = ? AND to_ms = ?`,
		integrationID, appID, ms(from), ms(to)).Scan(&h.Cursor, &h.Pages, &h.Done, &h.Total, &h.Reviews, &h.Queued,
		&h.RatingOnly, &h.Unreadable, &cu, &st, &up, &fi, &h.LastError)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return h, false, nil
	case err != nil:
		return h, false, fmt.Errorf("state: history import of %s/%s: %w", integrationID, appID, err)
	}
	h.CompleteUntil, h.Started, h.Updated, h.Finished = fromMS(cu), fromMS(st), fromMS(up), fromMS(fi)
	return h, true, nil
}

const saveHistoryImport = `
	INSERT INTO history_imports (integration_id, app_id, from_ms, to_ms, cursor, pages, done, total, reviews, queued,
		rating_only, unreadable, complete_until_ms, started_ms, updated_ms, finished_ms, last_error)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (integration_id, app_id, from_ms, to_ms) DO UPDATE SET cursor = excluded.cursor, pages = excluded.pages,
		done = excluded.done, total = excluded.total, reviews = excluded.reviews, queued = excluded.queued,
		rating_only = excluded.rating_only, unreadable = excluded.unreadable, complete_until_ms = excluded.complete_until_ms,
		started_ms = excluded.started_ms, updated_ms = excluded.updated_ms, finished_ms = excluded.finished_ms,
		last_error = excluded.last_error`

func historyArgs(h HistoryImport) []any {
	return []any{h.IntegrationID, h.AppID, ms(h.From), ms(h.To), h.Cursor, h.Pages, h.Done, h.Total, h.Reviews, h.Queued,
		h.RatingOnly, h.Unreadable, ms(h.CompleteUntil), ms(h.Started), ms(h.Updated), ms(h.Finished), h.LastError}
}

// SaveHistoryImport records an import's progress in tx: with the page's
// reviews, so a crash never separates the two.
func (t *Tx) SaveHistoryImport(ctx context.Context, h HistoryImport) error {
	if _, err := t.exec(ctx, saveHistoryImport, historyArgs(h)...); err != nil {
		return fmt.Errorf("state: save history import of %s/%s: %w", h.IntegrationID, h.AppID, err)
	}
	return nil
}

// SaveHistoryImport records an import's state outside a page (its start,
// its error).
func (d *DB) SaveHistoryImport(ctx context.Context, h HistoryImport) error {
	if _, err := d.exec(ctx, saveHistoryImport, historyArgs(h)...); err != nil {
		return fmt.Errorf("state: save history import of %s/%s: %w", h.IntegrationID, h.AppID, err)
	}
	return nil
}

// HistoryImports lists an app's imports, the newest range first.
func (d *DB) HistoryImports(ctx context.Context, integrationID, appID string) ([]HistoryImport, error) {
	rows, err := d.query(ctx, `SELECT from_ms, to_ms FROM history_imports WHERE integration_id = ? AND app_id = ?
		ORDER BY to_ms DESC, from_ms DESC`, integrationID, appID)
	if err != nil {
		return nil, fmt.Errorf("state: history imports of %s/%s: %w", integrationID, appID, err)
	}
	var ranges [][2]int64
	for rows.Next() {
		var f, t int64
		if err := rows.Scan(&f, &t); err != nil {
			rows.Close()
			return nil, err
		}
		ranges = append(ranges, [2]int64{f, t})
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, err
	}
	rows.Close()
	var out []HistoryImport
	for _, r := range ranges {
		h, _, err := d.HistoryImport(ctx, integrationID, appID, fromMS(r[0]), fromMS(r[1]))
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// LatestHistoryImports is each app's newest import (by range end) of an
// integration (all when integrationID is empty), by integration and app.
func (d *DB) LatestHistoryImports(ctx context.Context, integrationID string) (map[[2]string]HistoryImport, error) {
	rows, err := d.query(ctx, `SELECT integration_id, app_id, from_ms, to_ms FROM history_imports
		WHERE ? = '' OR integration_id = ? ORDER BY to_ms DESC, from_ms DESC`, integrationID, integrationID)
	if err != nil {
		return nil, fmt.Errorf("state: history imports: %w", err)
	}
	type key = [2]string
	newest := map[key][2]int64{}
	var order []key
	for rows.Next() {
		var in, app string
		var f, t int64
		if err := rows.Scan(&in, &app, &f, &t); err != nil {
			rows.Close()
			return nil, err
		}
		if _, ok := newest[key{in, app}]; !ok {
			newest[key{in, app}] = [2]int64{f, t}
			order = append(order, key{in, app})
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, err
	}
	rows.Close()
	out := make(map[key]HistoryImport, len(order))
	for _, k := range order {
		r := newest[k]
		h, _, err := d.HistoryImport(ctx, k[0], k[1], fromMS(r[0]), fromMS(r[1]))
		if err != nil {
			return nil, err
		}
		out[k] = h
	}
	return out, nil
}

// historyLeases: an import is run in one place at a time (a hub's gap
// recovery, the admin API, `hub import-history`, on any hub of the
// database): its importer holds the lease of its row, fenced, and writes
// its progress only under it (SaveHistoryImportUnder).
var historyLeases = LeaseTable{Table: "history_imports", Key: []string{"integration_id", "app_id", "from_ms", "to_ms"},
	OwnerColumn: "lease_owner", UntilColumn: "lease_until_ms", FenceColumn: "lease_fence"}

// HistoryImportLeases returns owner's leases of imports; an import's key
// is HistoryImportKey. Its row must exist (CreateHistoryImport).
func (d *DB) HistoryImportLeases(owner Owner) *Leases { return d.Leases(historyLeases, owner) }

// HistoryImportKey is the lease key of the import of h's app and range.
func HistoryImportKey(h HistoryImport) []any {
	return []any{h.IntegrationID, h.AppID, ms(h.From), ms(h.To)}
}

// CreateHistoryImport records h's row if there is none (its progress is
// then written under its lease); an existing row is left as it is.
func (d *DB) CreateHistoryImport(ctx context.Context, h HistoryImport) error {
	_, err := d.exec(ctx, `INSERT INTO history_imports (integration_id, app_id, from_ms, to_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (integration_id, app_id, from_ms, to_ms) DO NOTHING`, HistoryImportKey(h)...)
	if err != nil {
		return fmt.Errorf("state: create history import of %s/%s: %w", h.IntegrationID, h.AppID, err)
	}
	return nil
}

const saveHistoryImportUnder = `
	UPDATE history_imports SET cursor = ?, pages = ?, done = ?, total = ?, reviews = ?, queued = ?, rating_only = ?,
		unreadable = ?, complete_until_ms = ?, started_ms = ?, updated_ms = ?, finished_ms = ?, last_error = ?
	WHERE integration_id = ? AND app_id = ? AND from_ms = ? AND to_ms = ? AND `

func historyUnderArgs(h HistoryImport, l Lease) (string, []any) {
	held, hargs := historyLeases.held(l)
	args := []any{h.Cursor, h.Pages, h.Done, h.Total, h.Reviews, h.Queued, h.RatingOnly, h.Unreadable,
		ms(h.CompleteUntil), ms(h.Started), ms(h.Updated), ms(h.Finished), h.LastError}
	return saveHistoryImportUnder + held, append(append(args, HistoryImportKey(h)...), hargs...)
}

// SaveHistoryImportUnder records an import's progress in tx (with the
// page's reviews) under l, its lease as taken: ErrLeaseLost when another
// importer took it since (the transaction must not commit).
func (t *Tx) SaveHistoryImportUnder(ctx context.Context, h HistoryImport, l Lease) error {
	q, args := historyUnderArgs(h, l)
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("state: save history import of %s/%s: %w", h.IntegrationID, h.AppID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("state: save history import of %s/%s: %w", h.IntegrationID, h.AppID, errors.Join(ErrLeaseLost, err))
	}
	return nil
}

// SaveHistoryImportUnder records an import's state outside a page (its
// start, its error) under l; ErrLeaseLost when another importer took it.
func (d *DB) SaveHistoryImportUnder(ctx context.Context, h HistoryImport, l Lease) error {
	return d.InTx(ctx, func(tx *Tx) error { return tx.SaveHistoryImportUnder(ctx, h, l) })
}

// HistoryImportHolder is who holds the lease of h's import and until when
// (by the taker's clock); a zero Owner when nobody does (or the lease ran
// out).
func (d *DB) HistoryImportHolder(ctx context.Context, h HistoryImport, now time.Time) (Owner, time.Time, error) {
	var owner string
	var until int64
	err := d.queryRow(ctx, `SELECT lease_owner, lease_until_ms FROM history_imports
		WHERE integration_id = ? AND app_id = ? AND from_ms = ? AND to_ms = ?`, HistoryImportKey(h)...).Scan(&owner, &until)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Owner{}, time.Time{}, nil
	case err != nil:
		return Owner{}, time.Time{}, fmt.Errorf("state: holder of the history import of %s/%s: %w", h.IntegrationID, h.AppID, err)
	}
	if owner == "" || until <= ms(now) {
		return Owner{}, time.Time{}, nil
	}
	return ParseOwner(owner), fromMS(until), nil
}
