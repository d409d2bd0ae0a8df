package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/reviewhub/reviewhub/sdk"
)

// HealthRow is what the state knows about an app's health: the facts the
// poller records and the last computed state with its alert bookkeeping.
type HealthRow struct {
	AppRef
	StorePlugin string
	AppName     string
	// AppInterval is the app's own poll interval (0: the hub's default);
	// Interval what its last poll scheduled with (after quota budgets).
	AppInterval, Interval time.Duration
	Failures              int
	Note                  string // the schedule's note (why the next poll is later), for people
	Wait                  string // the schedule's typed reason to wait on the store (WaitQuota, WaitRetryAfter, "")
	Scheduled             bool   // the app has a schedule row

	FirstSeen    time.Time
	LastOK       time.Time
	ErrorKind    string
	Error        string
	FailingSince time.Time

	// Delivery holds the facts of the app's deliveries (RecordDelivery,
	// RecordAnswer).
	Delivery DeliveryFacts
	// Check is the app's last read-only check (RecordCheck).
	Check CheckFacts

	// Recorded is the health last computed, with its reason and since when.
	Recorded       string
	RecordedReason string
	RecordedSince  time.Time
	Alerted        string
	AlertedAt      time.Time
}

// CheckFacts are the outcome of an app's last read-only check.
type CheckFacts struct {
	// Status is "" (never checked), ok, warn or fail.
	Status string
	// Problem says what failed or warned, for people.
	Problem string
	// Since is when the app's check first had this status; At when it ran.
	Since, At time.Time
}

// RecordCheck writes the outcome of a check of an integration's apps (by
// app id); an app's since when is kept while its status stays.
func (d *DB) RecordCheck(ctx context.Context, integrationID string, apps map[string]CheckFacts, at time.Time) error {
	err := d.InTx(ctx, func(tx *Tx) error {
		for app, c := range apps {
			if _, err := tx.exec(ctx, `INSERT INTO app_health (integration_id, app_id, first_seen_ms, check_status, check_problem, check_since_ms, check_at_ms)
				VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (integration_id, app_id) DO UPDATE SET
					check_since_ms = CASE WHEN app_health.check_status = excluded.check_status THEN app_health.check_since_ms ELSE excluded.check_since_ms END,
					check_status = excluded.check_status, check_problem = excluded.check_problem, check_at_ms = excluded.check_at_ms`,
				integrationID, app, ms(at), c.Status, clipError(c.Problem), ms(at), ms(at)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: record check of %s: %w", integrationID, err)
	}
	return nil
}

// DeliveryFacts are an app's delivery outcomes: reviews to the helpdesk
// and answers to the store.
type DeliveryFacts struct {
	// OK is the last review delivered; FailedForGood the last one that
	// failed for good (its message is a dead letter).
	OK, FailedForGood time.Time
	// Failures counts failed attempts in a row since the last delivery
	// (retried ones and those that failed for good), FailingSince the
	// first of them; ErrorKind and Error are the last one's.
	Failures     int
	FailingSince time.Time
	ErrorKind    string
	Error        string
	// AnswerOK is the last answer published in the store; AnswerFailed
	// the last that failed (gave up, or refused for the store account),
	// with AnswerError its reason.
	AnswerOK, AnswerFailed time.Time
	AnswerError            string
	// DeadLetters counts the app's messages among the bus's dead letters
	// (not a column: the health monitor fills it from the bus).
	DeadLetters int
	// Lost counts the app's queued reviews whose message was found lost
	// and that wait for a listing to queue them again (not a column: the
	// health monitor fills it, LostByApp).
	Lost int
}

// Failing reports whether the last review delivery that ended failed for
// good (no delivery succeeded since).
func (f DeliveryFacts) Failing() bool { return f.FailedForGood.After(f.OK) }

// AnswersFailing reports whether the last answer that ended failed.
func (f DeliveryFacts) AnswersFailing() bool { return f.AnswerFailed.After(f.AnswerOK) }

// maxErrorText bounds the error text kept per app.
const maxErrorText = 500

// RecordPoll writes a poll's outcome for the app's health: err nil is a
// success (the last successful poll is at), otherwise the error's kind and
// text, and since when polls fail.
func (d *DB) RecordPoll(ctx context.Context, ref AppRef, at time.Time, err error) error {
	var q string
	var args []any
	if err == nil {
		q = `INSERT INTO app_health (integration_id, app_id, first_seen_ms, last_ok_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT (integration_id, app_id) DO UPDATE SET last_ok_ms = excluded.last_ok_ms,
				error_kind = '', error = '', failing_since_ms = 0`
		args = []any{ref.IntegrationID, ref.AppID, ms(at), ms(at)}
	} else {
		text := clipError(err.Error())
		q = `INSERT INTO app_health (integration_id, app_id, first_seen_ms, error_kind, error, failing_since_ms) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (integration_id, app_id) DO UPDATE SET error_kind = excluded.error_kind, error = excluded.error,
				failing_since_ms = CASE WHEN app_health.failing_since_ms = 0 THEN excluded.failing_since_ms ELSE app_health.failing_since_ms END`
		args = []any{ref.IntegrationID, ref.AppID, ms(at), sdk.KindOf(err).String(), text, ms(at)}
	}
	if _, err := d.exec(ctx, q, args...); err != nil {
		return fmt.Errorf("state: record poll of %s: %w", ref, err)
	}
	return nil
}

// RecordDelivery writes the outcome of an attempt to deliver a review of
// the app to the helpdesk: err nil a delivery (it ends a run of failures),
// otherwise a failure, forGood when the message goes to the dead letters
// (the review then says why until it is delivered). A delivery writes only
// when it ends failures, or once a minute: the steady state costs a read,
// and not even that within deliveryHealthFresh of this process's last look
// that found nothing to write (a failure recorded here ends that at once;
// one recorded by another hub is ended by a delivery here that much later).
func (d *DB) RecordDelivery(ctx context.Context, ref AppRef, reviewID string, at time.Time, err error, forGood bool) error {
	if err == nil {
		failures := d.deliveryFailures.Load() // a failure recorded during the look makes it stale
		if v, ok := d.deliveryCurrent.Load(ref); ok {
			c := v.(healthLook)
			if since := at.Sub(c.at); c.failures == failures && since >= 0 && since < deliveryHealthFresh {
				return nil
			}
		}
		// Read first: the steady state takes no write lock (SQLite's gate).
		const due = ` WHERE integration_id = ? AND app_id = ?
			AND (delivery_failures > 0 OR delivery_failed_ms >= delivery_ok_ms OR delivery_ok_ms < ?)`
		args := []any{ref.IntegrationID, ref.AppID, ms(at.Add(-time.Minute))}
		var n int
		if err := d.queryRow(ctx, `SELECT COUNT(*) FROM app_health`+due, args...).Scan(&n); err != nil {
			return fmt.Errorf("state: record delivery of %s: %w", ref, err)
		}
		if n > 0 {
			if _, err := d.exec(ctx, `UPDATE app_health SET delivery_ok_ms = ?, delivery_failures = 0, delivery_failing_since_ms = 0,
				delivery_error_kind = '', delivery_error = ''`+due, append([]any{ms(at)}, args...)...); err != nil {
				return fmt.Errorf("state: record delivery of %s: %w", ref, err)
			}
		}
		d.deliveryCurrent.Store(ref, healthLook{at: at, failures: failures})
		return nil
	}
	d.deliveryFailures.Add(1)
	text := clipError(sdk.MessageOf(err)) // the vendor's words, without the hub's wrapping
	failed := int64(0)
	if forGood {
		failed = ms(at)
	}
	werr := d.InTx(ctx, func(tx *Tx) error {
		if forGood {
			if _, e := tx.exec(ctx, `UPDATE reviews SET delivery_error = ? WHERE integration_id = ? AND app_id = ? AND review_id = ?`,
				text, ref.IntegrationID, ref.AppID, reviewID); e != nil {
				return e
			}
		}
		_, e := tx.exec(ctx, `INSERT INTO app_health (integration_id, app_id, first_seen_ms, delivery_failed_ms, delivery_failures,
				delivery_failing_since_ms, delivery_error_kind, delivery_error) VALUES (?, ?, ?, ?, 1, ?, ?, ?)
			ON CONFLICT (integration_id, app_id) DO UPDATE SET
				delivery_failed_ms = CASE WHEN excluded.delivery_failed_ms = 0 THEN app_health.delivery_failed_ms ELSE excluded.delivery_failed_ms END,
				delivery_failures = app_health.delivery_failures + 1,
				delivery_failing_since_ms = CASE WHEN app_health.delivery_failing_since_ms = 0 THEN excluded.delivery_failing_since_ms
					ELSE app_health.delivery_failing_since_ms END,
				delivery_error_kind = excluded.delivery_error_kind, delivery_error = excluded.delivery_error`,
			ref.IntegrationID, ref.AppID, ms(at), failed, ms(at), sdk.KindOf(err).String(), text)
		return e
	})
	if werr != nil {
		return fmt.Errorf("state: record delivery of %s: %w", ref, werr)
	}
	return nil
}

// RecordAnswer writes the outcome of an answer of the app that ended:
// published (failure "") or failed for a reason the app's health shows.
func (d *DB) RecordAnswer(ctx context.Context, ref AppRef, at time.Time, failure string) error {
	q := `INSERT INTO app_health (integration_id, app_id, first_seen_ms, answer_ok_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (integration_id, app_id) DO UPDATE SET answer_ok_ms = excluded.answer_ok_ms, answer_error = ''`
	args := []any{ref.IntegrationID, ref.AppID, ms(at), ms(at)}
	if failure != "" {
		q = `INSERT INTO app_health (integration_id, app_id, first_seen_ms, answer_failed_ms, answer_error) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (integration_id, app_id) DO UPDATE SET answer_failed_ms = excluded.answer_failed_ms, answer_error = excluded.answer_error`
		args = []any{ref.IntegrationID, ref.AppID, ms(at), ms(at), clipError(failure)}
	}
	if _, err := d.exec(ctx, q, args...); err != nil {
		return fmt.Errorf("state: record answer of %s: %w", ref, err)
	}
	return nil
}

// deliveryHealthFresh is how long a delivery's health, found current by
// this process, is not looked at again for the next delivery of the app:
// the look was a statement per delivery (a round trip on PostgreSQL).
const deliveryHealthFresh = 10 * time.Second

// healthLook is a look at an app's delivery health that found it current:
// when, and how many failures this process had recorded before it.
type healthLook struct {
	at       time.Time
	failures uint64
}

func clipError(text string) string {
	if len(text) > maxErrorText {
		// Cut at a character's start: PostgreSQL refuses invalid UTF-8.
		cut := maxErrorText
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		return text[:cut] + "…"
	}
	return text
}

// KeepHealthRows adds health rows for apps new to them (first seen now)
// and drops those of removed apps.
func (d *DB) KeepHealthRows(ctx context.Context, now time.Time) error {
	err := d.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO app_health (integration_id, app_id, first_seen_ms)
			SELECT a.integration_id, a.id, ? FROM apps a WHERE NOT EXISTS (SELECT 1 FROM app_health h
				WHERE h.integration_id = a.integration_id AND h.app_id = a.id)`, ms(now)); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `DELETE FROM app_health WHERE NOT EXISTS (SELECT 1 FROM apps a
			WHERE a.integration_id = app_health.integration_id AND a.id = app_health.app_id)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("state: keep health rows: %w", err)
	}
	return nil
}

// HealthRows returns the health facts of every app (of one integration
// when integrationID is set); it only reads. An app without a health row
// yet (KeepHealthRows adds them) has zero facts.
func (d *DB) HealthRows(ctx context.Context, integrationID string) ([]HealthRow, error) {
	q := `SELECT a.integration_id, a.id, a.name, a.store_plugin, a.poll_interval_ms,
			COALESCE(s.interval_ms, 0), COALESCE(s.failures, 0), COALESCE(s.note, ''), s.app_id IS NOT NULL,
			COALESCE(h.first_seen_ms, 0), COALESCE(h.last_ok_ms, 0), COALESCE(h.error_kind, ''), COALESCE(h.error, ''),
			COALESCE(h.failing_since_ms, 0), COALESCE(h.health, ''), COALESCE(h.reason, ''), COALESCE(h.since_ms, 0),
			COALESCE(h.alerted, ''), COALESCE(h.alerted_at_ms, 0),
			COALESCE(h.delivery_ok_ms, 0), COALESCE(h.delivery_failed_ms, 0), COALESCE(h.delivery_failures, 0),
			COALESCE(h.delivery_failing_since_ms, 0), COALESCE(h.delivery_error_kind, ''), COALESCE(h.delivery_error, ''),
			COALESCE(h.answer_ok_ms, 0), COALESCE(h.answer_failed_ms, 0), COALESCE(h.answer_error, ''),
			COALESCE(s.wait, ''), COALESCE(h.check_status, ''), COALESCE(h.check_problem, ''), COALESCE(h.check_since_ms, 0),
			COALESCE(h.check_at_ms, 0)
		FROM apps a
		LEFT JOIN app_health h ON h.integration_id = a.integration_id AND h.app_id = a.id
		LEFT JOIN poll_schedule s ON s.integration_id = a.integration_id AND s.app_id = a.id`
	var args []any
	if integrationID != "" {
		q += ` WHERE a.integration_id = ?`
		args = append(args, integrationID)
	}
	rows, err := d.query(ctx, q+` ORDER BY a.integration_id, a.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("state: health rows: %w", err)
	}
	defer rows.Close()
	var out []HealthRow
	for rows.Next() {
		var r HealthRow
		var appIv, iv, first, ok, failing, since, alerted int64
		var dOK, dFailed, dSince, aOK, aFailed, cSince, cAt int64
		df := &r.Delivery
		if err := rows.Scan(&r.IntegrationID, &r.AppID, &r.AppName, &r.StorePlugin, &appIv, &iv, &r.Failures, &r.Note, &r.Scheduled,
			&first, &ok, &r.ErrorKind, &r.Error, &failing, &r.Recorded, &r.RecordedReason, &since, &r.Alerted, &alerted,
			&dOK, &dFailed, &df.Failures, &dSince, &df.ErrorKind, &df.Error, &aOK, &aFailed, &df.AnswerError, &r.Wait,
			&r.Check.Status, &r.Check.Problem, &cSince, &cAt); err != nil {
			return nil, fmt.Errorf("state: health rows: %w", err)
		}
		r.AppInterval, r.Interval = time.Duration(appIv)*time.Millisecond, time.Duration(iv)*time.Millisecond
		r.FirstSeen, r.LastOK, r.FailingSince, r.RecordedSince, r.AlertedAt = fromMS(first), fromMS(ok), fromMS(failing), fromMS(since), fromMS(alerted)
		df.OK, df.FailedForGood, df.FailingSince, df.AnswerOK, df.AnswerFailed = fromMS(dOK), fromMS(dFailed), fromMS(dSince), fromMS(aOK), fromMS(aFailed)
		r.Check.Since, r.Check.At = fromMS(cSince), fromMS(cAt)
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetHealth records an app's newly computed health and since when.
func (d *DB) SetHealth(ctx context.Context, ref AppRef, health, reason string, since time.Time) error {
	if _, err := d.exec(ctx, `UPDATE app_health SET health = ?, reason = ?, since_ms = ? WHERE integration_id = ? AND app_id = ?`,
		health, reason, ms(since), ref.IntegrationID, ref.AppID); err != nil {
		return fmt.Errorf("state: set health of %s: %w", ref, err)
	}
	return nil
}

// alertLeases is where the alert claims are kept (lease.go): in each
// app's health row, fenced.
var alertLeases = LeaseTable{Table: "app_health", Key: []string{"integration_id", "app_id"},
	OwnerColumn: "alert_lease_owner", UntilColumn: "alert_lease_ms", FenceColumn: "alert_lease_fence"}

// ClaimAlert lets one hub send the alert that moves ref's alerted state
// away from was: it reports true when owner holds the claim until
// now+lease (no other hub sent it meanwhile, and none is sending it), and
// the claim, which AlertSent and ReleaseAlert name. On PostgreSQL the
// claim runs by the server's clock, not now (lease.go).
func (d *DB) ClaimAlert(ctx context.Context, owner Owner, ref AppRef, was string, now time.Time, lease time.Duration) (Lease, bool, error) {
	leases := alertLeases.in(d.dialect)
	set, sargs := leases.takeSet(owner, now, lease, true)
	free, fargs := leases.free(alertLeases.UntilColumn, now)
	var fence, until int64
	err := d.writeRow(ctx, `UPDATE app_health SET `+set+`
		WHERE integration_id = ? AND app_id = ? AND alerted = ? AND `+free+` RETURNING alert_lease_fence, alert_lease_ms`,
		append(append(sargs, ref.IntegrationID, ref.AppID, was), fargs...), &fence, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, false, nil
	}
	if err != nil {
		return Lease{}, false, fmt.Errorf("state: claim alert of %s: %w", ref, err)
	}
	return Lease{Owner: owner, Fence: fence, Until: fromMS(until)}, true, nil
}

// AlertSent records that the alert for health was sent at (the cooldown
// counts from it) and ends the claim. When another hub took the claim
// since (this one's ran out), nothing is recorded and the error wraps
// ErrLeaseLost: that hub sends (and records) it, deduplicated by the
// alert's key.
func (d *DB) AlertSent(ctx context.Context, ref AppRef, claim Lease, health string, at time.Time) error {
	held, hargs := alertLeases.held(claim)
	res, err := d.exec(ctx, `UPDATE app_health SET alerted = ?, alerted_at_ms = ?, `+alertLeases.clearSet()+`
		WHERE integration_id = ? AND app_id = ? AND `+held,
		append([]any{health, ms(at), ref.IntegrationID, ref.AppID}, hargs...)...)
	if err != nil {
		return fmt.Errorf("state: alert sent for %s: %w", ref, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("state: alert sent for %s: %w", ref, errors.Join(err, ErrLeaseLost))
	}
	return nil
}

// ReleaseAlert ends a claim whose alert could not be sent, so the next
// check tries again (nothing when another hub took the claim since).
func (d *DB) ReleaseAlert(ctx context.Context, ref AppRef, claim Lease) error {
	if _, err := d.Leases(alertLeases, claim.Owner).Release(ctx, claim, ref.IntegrationID, ref.AppID); err != nil {
		return fmt.Errorf("state: release alert of %s: %w", ref, err)
	}
	return nil
}

// AlertConfig is where an integration's health alerts go.
type AlertConfig struct {
	// Helpdesk: a note through the integration's helpdesk plugin.
	Helpdesk bool
	// WebhookURL receives Slack-compatible JSON (secret: sealed at rest).
	WebhookURL string
	// Cooldown: at most one alert per app within it (0: the default).
	Cooldown time.Duration
}

// Enabled reports whether alerts go anywhere.
func (c AlertConfig) Enabled() bool { return c.Helpdesk || c.WebhookURL != "" }

// PutAlerts writes an integration's alert configuration.
func (t *Tx) PutAlerts(ctx context.Context, integrationID string, c AlertConfig) error {
	var sealed []byte
	if c.WebhookURL != "" {
		var err error
		if sealed, err = t.db.sealSettings(sdk.Settings{"webhook_url": c.WebhookURL}); err != nil {
			return fmt.Errorf("state: seal alert webhook: %w", err)
		}
	}
	_, err := t.exec(ctx, `INSERT INTO integration_alerts (integration_id, helpdesk, webhook_url, cooldown_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (integration_id) DO UPDATE SET helpdesk = excluded.helpdesk, webhook_url = excluded.webhook_url,
			cooldown_ms = excluded.cooldown_ms`, integrationID, boolInt(c.Helpdesk), sealed, c.Cooldown.Milliseconds())
	if err != nil {
		return fmt.Errorf("state: put alerts of %s: %w", integrationID, err)
	}
	return nil
}

// PutAlerts writes an integration's alert configuration.
func (d *DB) PutAlerts(ctx context.Context, integrationID string, c AlertConfig) error {
	return d.InTx(ctx, func(tx *Tx) error { return tx.PutAlerts(ctx, integrationID, c) })
}

// Alerts reads an integration's alert configuration (the zero value when
// none is set).
func (d *DB) Alerts(ctx context.Context, integrationID string) (AlertConfig, error) {
	var c AlertConfig
	var helpdesk int
	var sealed []byte
	var cooldown int64
	err := d.queryRow(ctx, `SELECT helpdesk, webhook_url, cooldown_ms FROM integration_alerts WHERE integration_id = ?`,
		integrationID).Scan(&helpdesk, &sealed, &cooldown)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("state: alerts of %s: %w", integrationID, err)
	}
	c.Helpdesk, c.Cooldown = helpdesk != 0, time.Duration(cooldown)*time.Millisecond
	if len(sealed) > 0 {
		s, err := d.unsealSettings(sealed)
		if err != nil {
			return c, fmt.Errorf("state: unseal alert webhook of %s: %w", integrationID, err)
		}
		c.WebhookURL = s["webhook_url"]
	}
	return c, nil
}
