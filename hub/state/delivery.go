package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// StartDelivery is called before a review is handed to the helpdesk
// plugin. It returns the ticket linked to the review ("" if none) and
// whether this is certainly the first attempt to deliver it: no ticket is
// linked and no earlier attempt was recorded. The attempt is recorded (and
// committed) before it returns, so a crash during the plugin call makes
// every later attempt a retry, and the plugin looks the ticket up then.
func (d *DB) StartDelivery(ctx context.Context, integrationID, appID, reviewID string) (ticket string, first bool, err error) {
	err = d.InTxGrouped(ctx, func(tx *Tx) error {
		ticket, first, err = tx.StartDelivery(ctx, integrationID, appID, reviewID)
		return err
	})
	return ticket, first, err
}

// StartDelivery is DB.StartDelivery inside the transaction (committed
// before the plugin is called). A review not linked and not attempted yet
// costs one statement.
func (t *Tx) StartDelivery(ctx context.Context, integrationID, appID, reviewID string) (ticket string, first bool, err error) {
	res, err := t.exec(ctx, `UPDATE reviews SET delivery_attempted = 1
		WHERE integration_id = ? AND app_id = ? AND review_id = ? AND ticket_id = '' AND delivery_attempted = 0`,
		integrationID, appID, reviewID)
	if err != nil {
		return "", false, fmt.Errorf("state: record delivery attempt of review %s: %w", reviewID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return "", false, fmt.Errorf("state: record delivery attempt of review %s: %w", reviewID, err)
	}
	if n == 1 {
		// Within a while of a restore from a backup, a ticket made after
		// the backup may exist: the plugin looks it up (version.go).
		return "", t.db.firstAttemptsSure(), nil
	}
	err = t.queryRow(ctx, `SELECT ticket_id FROM reviews WHERE integration_id = ? AND app_id = ? AND review_id = ?`,
		integrationID, appID, reviewID).Scan(&ticket)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("state: ticket of review %s: %w", reviewID, err)
	}
	return ticket, false, nil
}

// RefusedDelivery undoes the record of a first attempt that the helpdesk
// refused before doing anything (it answered "rate limited"), so the next
// attempt is a first one again and needs no lookup either.
func (d *DB) RefusedDelivery(ctx context.Context, integrationID, appID, reviewID string) error {
	_, err := d.exec(ctx, `UPDATE reviews SET delivery_attempted = 0
		WHERE integration_id = ? AND app_id = ? AND review_id = ? AND ticket_id = ''`,
		integrationID, appID, reviewID)
	if err != nil {
		return fmt.Errorf("state: undo delivery attempt of review %s: %w", reviewID, err)
	}
	return nil
}
