package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Delivery statuses of an event to a webhook endpoint.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	// DeliveryFailed: given up after the retry schedule (replay it).
	DeliveryFailed = "failed"
)

// WebhookEndpoint is an outbound webhook endpoint as the API shows it:
// never its secret.
type WebhookEndpoint struct {
	ID string `json:"id"`
	// IntegrationID: only this integration's events ("": every one).
	IntegrationID string `json:"integration,omitempty"`
	URL           string `json:"url"`
	// EventTypes it takes (empty: every type).
	EventTypes  []string `json:"events,omitempty"`
	Description string   `json:"description,omitempty"`
	// Source: "config" (the YAML file's, read-only) or "api".
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
	// FailingSince: its deliveries fail since then (zero: they do not).
	FailingSince time.Time `json:"failing_since,omitzero"`
	// DisabledAt: no deliveries until it is enabled again (zero: on).
	DisabledAt     time.Time `json:"disabled_at,omitzero"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
}

// Disabled reports whether the endpoint takes no deliveries.
func (e WebhookEndpoint) Disabled() bool { return !e.DisabledAt.IsZero() }

func joinTypes(types []string) string {
	if len(types) == 0 {
		return ""
	}
	return "," + strings.Join(types, ",") + ","
}

func splitTypes(s string) []string {
	s = strings.Trim(s, ",")
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

const endpointColumns = `id, integration_id, url, event_types, description, source, created_ms, failing_since_ms, disabled_ms, disabled_reason`

func scanEndpoint(r row) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	var types string
	var created, failing, disabled int64
	if err := r.Scan(&e.ID, &e.IntegrationID, &e.URL, &types, &e.Description, &e.Source, &created, &failing, &disabled, &e.DisabledReason); err != nil {
		return e, err
	}
	e.EventTypes, e.CreatedAt, e.FailingSince, e.DisabledAt = splitTypes(types), fromMS(created), fromMS(failing), fromMS(disabled)
	return e, nil
}

// WebhookEndpoints lists the endpoints by id.
func (d *DB) WebhookEndpoints(ctx context.Context) ([]WebhookEndpoint, error) {
	rs, err := d.query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("state: webhook endpoints: %w", err)
	}
	defer rs.Close()
	out := []WebhookEndpoint{}
	for rs.Next() {
		e, err := scanEndpoint(rs)
		if err != nil {
			return nil, fmt.Errorf("state: webhook endpoints: %w", err)
		}
		out = append(out, e)
	}
	return out, rs.Err()
}

// WebhookEndpointByID reads one endpoint (ErrNotFound).
func (d *DB) WebhookEndpointByID(ctx context.Context, id string) (WebhookEndpoint, error) {
	e, err := scanEndpoint(d.queryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, ErrNotFound
	}
	if err != nil {
		return e, fmt.Errorf("state: webhook endpoint %s: %w", id, err)
	}
	return e, nil
}

// CreateWebhookEndpoint stores a new endpoint with its secret (sealed);
// ErrExists when its id is taken.
func (d *DB) CreateWebhookEndpoint(ctx context.Context, e WebhookEndpoint, secret string) error {
	sealed, err := d.sealSecret(secret)
	if err != nil {
		return fmt.Errorf("state: seal the secret of webhook endpoint %s: %w", e.ID, err)
	}
	res, err := d.exec(ctx, `INSERT INTO webhook_endpoints (id, integration_id, url, secret, event_types, description, source, created_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		e.ID, e.IntegrationID, e.URL, sealed, joinTypes(e.EventTypes), e.Description, e.Source, ms(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("state: create webhook endpoint %s: %w", e.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("state: create webhook endpoint %s: %w", e.ID, err)
	} else if n == 0 {
		return ErrExists
	}
	return nil
}

// UpdateWebhookEndpoint changes an endpoint's integration, URL, event
// types and description (ErrNotFound).
func (d *DB) UpdateWebhookEndpoint(ctx context.Context, e WebhookEndpoint) error {
	res, err := d.exec(ctx, `UPDATE webhook_endpoints SET integration_id = ?, url = ?, event_types = ?, description = ? WHERE id = ?`,
		e.IntegrationID, e.URL, joinTypes(e.EventTypes), e.Description, e.ID)
	return oneRow(res, err, "update webhook endpoint "+e.ID)
}

func oneRow(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("state: %s: %w", what, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteWebhookEndpoint deletes an endpoint with its deliveries and their
// log (ErrNotFound).
func (d *DB) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return d.InTx(ctx, func(tx *Tx) error {
		for _, q := range []string{`DELETE FROM webhook_attempts WHERE endpoint_id = ?`, `DELETE FROM webhook_deliveries WHERE endpoint_id = ?`} {
			if _, err := tx.exec(ctx, q, id); err != nil {
				return fmt.Errorf("state: delete webhook endpoint %s: %w", id, err)
			}
		}
		res, err := tx.exec(ctx, `DELETE FROM webhook_endpoints WHERE id = ?`, id)
		return oneRow(res, err, "delete webhook endpoint "+id)
	})
}

// ConfigWebhookEndpoint is an endpoint of the configuration file.
type ConfigWebhookEndpoint struct {
	WebhookEndpoint
	Secret string
}

// SyncConfigWebhookEndpoints makes the endpoints of source "config" those
// of the file: new ones added, changed ones updated (their secret too),
// the others deleted. An id an API endpoint has is an error.
func (d *DB) SyncConfigWebhookEndpoints(ctx context.Context, eps []ConfigWebhookEndpoint, now time.Time) error {
	return d.InTx(ctx, func(tx *Tx) error {
		keep := map[string]bool{}
		for _, e := range eps {
			keep[e.ID] = true
			sealed, err := d.sealSecret(e.Secret)
			if err != nil {
				return fmt.Errorf("state: seal the secret of webhook endpoint %s: %w", e.ID, err)
			}
			var source string
			err = tx.queryRow(ctx, `SELECT source FROM webhook_endpoints WHERE id = ?`, e.ID).Scan(&source)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				_, err = tx.exec(ctx, `INSERT INTO webhook_endpoints (id, integration_id, url, secret, event_types, description, source, created_ms)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.IntegrationID, e.URL, sealed, joinTypes(e.EventTypes), e.Description, SourceConfig, ms(now))
			case err != nil:
			case source != SourceConfig:
				return fmt.Errorf("webhooks.endpoints: id %q is taken by an endpoint made in the admin API; rename one", e.ID)
			default:
				_, err = tx.exec(ctx, `UPDATE webhook_endpoints SET integration_id = ?, url = ?, secret = ?, event_types = ?, description = ? WHERE id = ?`,
					e.IntegrationID, e.URL, sealed, joinTypes(e.EventTypes), e.Description, e.ID)
			}
			if err != nil {
				return fmt.Errorf("state: webhook endpoint %s of the config: %w", e.ID, err)
			}
		}
		rs, err := tx.query(ctx, `SELECT id FROM webhook_endpoints WHERE source = ?`, SourceConfig)
		if err != nil {
			return fmt.Errorf("state: webhook endpoints of the config: %w", err)
		}
		var gone []string
		for rs.Next() {
			var id string
			if err := rs.Scan(&id); err != nil {
				rs.Close()
				return fmt.Errorf("state: webhook endpoints of the config: %w", err)
			}
			if !keep[id] {
				gone = append(gone, id)
			}
		}
		rs.Close()
		for _, id := range gone {
			for _, q := range []string{`DELETE FROM webhook_attempts WHERE endpoint_id = ?`, `DELETE FROM webhook_deliveries WHERE endpoint_id = ?`, `DELETE FROM webhook_endpoints WHERE id = ?`} {
				if _, err := tx.exec(ctx, q, id); err != nil {
					return fmt.Errorf("state: delete webhook endpoint %s: %w", id, err)
				}
			}
		}
		return nil
	})
}

func (d *DB) sealSecret(secret string) ([]byte, error) {
	if d.sealer == nil {
		return []byte(secret), nil
	}
	return d.sealer.Seal([]byte(secret))
}

// WebhookSecret is an endpoint's secret, unsealed (ErrNotFound).
func (d *DB) WebhookSecret(ctx context.Context, id string) (string, error) {
	var b []byte
	err := d.queryRow(ctx, `SELECT secret FROM webhook_endpoints WHERE id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("state: secret of webhook endpoint %s: %w", id, err)
	}
	if d.sealer != nil {
		if b, err = d.sealer.Open(b); err != nil {
			return "", fmt.Errorf("state: secret of webhook endpoint %s: %w", id, err)
		}
	}
	return string(b), nil
}

// EnableWebhookEndpoint turns a disabled endpoint on again and resets its
// failing time: its pending deliveries go out from now (ErrNotFound).
func (d *DB) EnableWebhookEndpoint(ctx context.Context, id string, now time.Time) error {
	return d.InTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE webhook_endpoints SET disabled_ms = 0, disabled_reason = '', failing_since_ms = 0 WHERE id = ?`, id)
		if err := oneRow(res, err, "enable webhook endpoint "+id); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE webhook_deliveries SET next_ms = ?, tries = 0 WHERE endpoint_id = ? AND status = ?`, ms(now), id, DeliveryPending); err != nil {
			return fmt.Errorf("state: enable webhook endpoint %s: %w", id, err)
		}
		return nil
	})
}

// waitingNext is the next_ms of the pending deliveries of a disabled
// endpoint: beyond any time, out of the range the dispatcher's look at the
// due deliveries reads (webhook_deliveries_due), so that a disabled
// endpoint's backlog, however long, is not read again every second.
// EnableWebhookEndpoint sets them due again.
const (
	waitingNextMS = int64(1) << 62
	waitingNext   = "4611686018427387904" // waitingNextMS
)

// DisableWebhookEndpoint turns an endpoint off with reason; disabled
// reports whether this call did (of several hubs, one does: it alerts).
// Its pending deliveries wait (waitingNext) until it is enabled again.
func (d *DB) DisableWebhookEndpoint(ctx context.Context, id, reason string, at time.Time) (disabled bool, err error) {
	err = d.InTx(ctx, func(tx *Tx) error {
		disabled = false
		res, err := tx.exec(ctx, `UPDATE webhook_endpoints SET disabled_ms = ?, disabled_reason = ? WHERE id = ? AND disabled_ms = 0`, ms(at), reason, id)
		if err := oneRow(res, err, "disable webhook endpoint "+id); errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		disabled = true
		if _, err := tx.exec(ctx, `UPDATE webhook_deliveries SET next_ms = ? WHERE endpoint_id = ? AND status = ?`, waitingNextMS, id, DeliveryPending); err != nil {
			return fmt.Errorf("state: disable webhook endpoint %s: %w", id, err)
		}
		return nil
	})
	return disabled, err
}

// WebhookEndpointOutcome records a delivery's outcome for its endpoint:
// a success ends its failing time; a failure starts it when it is not
// failing yet. It returns since when the endpoint fails (zero: it does
// not).
func (d *DB) WebhookEndpointOutcome(ctx context.Context, id string, ok bool, at time.Time) (failingSince time.Time, err error) {
	if ok {
		_, err = d.exec(ctx, `UPDATE webhook_endpoints SET failing_since_ms = 0 WHERE id = ? AND failing_since_ms <> 0`, id)
		if err != nil {
			return time.Time{}, fmt.Errorf("state: webhook endpoint %s succeeded: %w", id, err)
		}
		return time.Time{}, nil
	}
	if _, err = d.exec(ctx, `UPDATE webhook_endpoints SET failing_since_ms = ? WHERE id = ? AND failing_since_ms = 0`, ms(at), id); err != nil {
		return time.Time{}, fmt.Errorf("state: webhook endpoint %s failed: %w", id, err)
	}
	var since int64
	if err := d.queryRow(ctx, `SELECT failing_since_ms FROM webhook_endpoints WHERE id = ?`, id).Scan(&since); err != nil {
		return time.Time{}, fmt.Errorf("state: webhook endpoint %s failed: %w", id, err)
	}
	return fromMS(since), nil
}

// WebhookDelivery is one event to one endpoint, with its log.
type WebhookDelivery struct {
	EndpointID string `json:"endpoint"`
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	Status     string `json:"status"`
	// Attempts made (all of them); Tries of them since it was queued or
	// replayed (the retry schedule's position).
	Attempts  int       `json:"attempts"`
	Tries     int       `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	// NextAt is the next try of a pending delivery.
	NextAt     time.Time        `json:"next_at,omitzero"`
	LastAt     time.Time        `json:"last_at,omitzero"`
	LastStatus int              `json:"last_status,omitempty"`
	LastError  string           `json:"last_error,omitempty"`
	Log        []WebhookAttempt `json:"log,omitempty"`
}

// WebhookAttempt is one try of a delivery: the answer's status and the
// start of its body, or the error.
type WebhookAttempt struct {
	Attempt    int           `json:"attempt"`
	At         time.Time     `json:"at"`
	Duration   time.Duration `json:"duration_ns"`
	StatusCode int           `json:"status_code,omitempty"`
	Error      string        `json:"error,omitempty"`
	Response   string        `json:"response,omitempty"`
}

// webhookLeases are the claims of deliveries (lease.go): one hub sends a
// delivery at a time.
var webhookLeases = LeaseTable{Table: "webhook_deliveries", Key: []string{"endpoint_id", "event_id"},
	OwnerColumn: "lease_owner", UntilColumn: "lease_ms", FenceColumn: "lease_fence"}

// WebhookLeases are owner's claims of deliveries.
func (d *DB) WebhookLeases(owner Owner) *Leases { return d.Leases(webhookLeases, owner) }

const deliveryColumns = `w.endpoint_id, w.event_id, e.type, w.status, w.attempts, w.tries, w.created_ms, w.next_ms, w.last_ms, w.last_status, w.last_error`

func scanDelivery(r row) (WebhookDelivery, error) {
	var w WebhookDelivery
	var created, next, last int64
	err := r.Scan(&w.EndpointID, &w.EventID, &w.EventType, &w.Status, &w.Attempts, &w.Tries, &created, &next, &last, &w.LastStatus, &w.LastError)
	w.CreatedAt, w.LastAt = fromMS(created), fromMS(last)
	if w.Status == DeliveryPending && next < waitingNextMS {
		w.NextAt = fromMS(next)
	}
	return w, err
}

// DueWebhookDeliveries lists up to limit pending deliveries due at now to
// enabled endpoints that no hub has claimed, oldest first. now decides
// what is due; whether a claim has run out is decided by the clock the
// claims run by (the server's on PostgreSQL, lease.go), as Take decides
// it: a hub whose clock is ahead does not list a delivery another hub is
// sending, nor one whose clock is behind wait minutes for a lapsed claim.
func (d *DB) DueWebhookDeliveries(ctx context.Context, now time.Time, limit int) ([]WebhookDelivery, error) {
	// Unclaimed by the clock the claims run by (lease.go: the server's on
	// PostgreSQL); next_ms is the hubs' own schedule.
	free, fargs := webhookLeases.in(d.dialect).free("w.lease_ms", now)
	args := append([]any{DeliveryPending, ms(now)}, fargs...)
	rs, err := d.query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries w
		JOIN events e ON e.id = w.event_id JOIN webhook_endpoints p ON p.id = w.endpoint_id
		WHERE w.status = ? AND w.next_ms <= ? AND `+free+` AND p.disabled_ms = 0
		ORDER BY w.next_ms, w.created_ms LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("state: due webhook deliveries: %w", err)
	}
	defer rs.Close()
	var out []WebhookDelivery
	for rs.Next() {
		w, err := scanDelivery(rs)
		if err != nil {
			return nil, fmt.Errorf("state: due webhook deliveries: %w", err)
		}
		out = append(out, w)
	}
	return out, rs.Err()
}

// WebhookDeliveryByKey reads one delivery (ErrNotFound).
func (d *DB) WebhookDeliveryByKey(ctx context.Context, endpointID, eventID string) (WebhookDelivery, error) {
	w, err := scanDelivery(d.queryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries w JOIN events e ON e.id = w.event_id
		WHERE w.endpoint_id = ? AND w.event_id = ?`, endpointID, eventID))
	if errors.Is(err, sql.ErrNoRows) {
		return w, ErrNotFound
	}
	if err != nil {
		return w, fmt.Errorf("state: webhook delivery %s of %s: %w", eventID, endpointID, err)
	}
	return w, nil
}

// DeliveryOutcome is what one attempt of a delivery did: the attempt for
// the log, the delivery's status after it and, when still pending, its
// next try.
type DeliveryOutcome struct {
	Attempt WebhookAttempt
	Status  string
	NextAt  time.Time
}

// RecordWebhookAttempt records an attempt of a delivery made under claim
// and ends the claim; ErrLeaseLost when another hub took the claim since
// (it records its own attempt).
func (d *DB) RecordWebhookAttempt(ctx context.Context, claim Lease, endpointID, eventID string, o DeliveryOutcome) error {
	return d.InTx(ctx, func(tx *Tx) error {
		held, hargs := webhookLeases.held(claim)
		var n int
		err := tx.queryRow(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, tries = tries + 1, next_ms = ?,
			last_ms = ?, last_status = ?, last_error = ?, `+webhookLeases.clearSet()+`
			WHERE endpoint_id = ? AND event_id = ? AND `+held+` RETURNING attempts`,
			append([]any{o.Status, ms(o.NextAt), ms(o.Attempt.At), o.Attempt.StatusCode, o.Attempt.Error, endpointID, eventID}, hargs...)...).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("state: webhook delivery %s of %s: %w", eventID, endpointID, ErrLeaseLost)
		}
		if err != nil {
			return fmt.Errorf("state: record webhook attempt %s of %s: %w", eventID, endpointID, err)
		}
		a := o.Attempt
		if _, err := tx.exec(ctx, `INSERT INTO webhook_attempts (endpoint_id, event_id, attempt, at_ms, duration_ms, status_code, error, response)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, endpointID, eventID, n, ms(a.At), a.Duration.Milliseconds(), a.StatusCode, a.Error, a.Response); err != nil {
			return fmt.Errorf("state: record webhook attempt %s of %s: %w", eventID, endpointID, err)
		}
		return nil
	})
}

// ReplayWebhookDelivery queues a delivery again at now with a fresh retry
// schedule, whatever its status (ErrNotFound).
func (d *DB) ReplayWebhookDelivery(ctx context.Context, endpointID, eventID string, now time.Time) error {
	res, err := d.exec(ctx, `UPDATE webhook_deliveries SET status = ?, next_ms = ?, tries = 0 WHERE endpoint_id = ? AND event_id = ?`,
		DeliveryPending, ms(now), endpointID, eventID)
	return oneRow(res, err, "replay webhook delivery "+eventID+" of "+endpointID)
}

// WebhookDeliveries is an endpoint's delivery log: its latest deliveries
// (up to limit, newest first), each with its attempts.
func (d *DB) WebhookDeliveries(ctx context.Context, endpointID string, limit int) ([]WebhookDelivery, error) {
	rs, err := d.query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries w JOIN events e ON e.id = w.event_id
		WHERE w.endpoint_id = ? ORDER BY w.created_ms DESC, w.event_id DESC LIMIT ?`, endpointID, limit)
	if err != nil {
		return nil, fmt.Errorf("state: webhook deliveries of %s: %w", endpointID, err)
	}
	out := []WebhookDelivery{}
	for rs.Next() {
		w, err := scanDelivery(rs)
		if err != nil {
			rs.Close()
			return nil, fmt.Errorf("state: webhook deliveries of %s: %w", endpointID, err)
		}
		out = append(out, w)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("state: webhook deliveries of %s: %w", endpointID, err)
	}
	for i := range out {
		if out[i].Log, err = d.webhookAttempts(ctx, endpointID, out[i].EventID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *DB) webhookAttempts(ctx context.Context, endpointID, eventID string) ([]WebhookAttempt, error) {
	rs, err := d.query(ctx, `SELECT attempt, at_ms, duration_ms, status_code, error, response FROM webhook_attempts
		WHERE endpoint_id = ? AND event_id = ? ORDER BY attempt`, endpointID, eventID)
	if err != nil {
		return nil, fmt.Errorf("state: webhook attempts: %w", err)
	}
	defer rs.Close()
	var out []WebhookAttempt
	for rs.Next() {
		var a WebhookAttempt
		var at, dur int64
		if err := rs.Scan(&a.Attempt, &at, &dur, &a.StatusCode, &a.Error, &a.Response); err != nil {
			return nil, fmt.Errorf("state: webhook attempts: %w", err)
		}
		a.At, a.Duration = fromMS(at), time.Duration(dur)*time.Millisecond
		out = append(out, a)
	}
	return out, rs.Err()
}

// WebhookQueue counts the pending deliveries (of enabled endpoints) and
// the age of the oldest one at now.
func (d *DB) WebhookQueue(ctx context.Context, now time.Time) (pending int, oldest time.Duration, err error) {
	var first sql.NullInt64
	err = d.queryRow(ctx, `SELECT COUNT(*), MIN(w.created_ms) FROM webhook_deliveries w JOIN webhook_endpoints p ON p.id = w.endpoint_id
		WHERE w.status = ? AND p.disabled_ms = 0`, DeliveryPending).Scan(&pending, &first)
	if err != nil {
		return 0, 0, fmt.Errorf("state: webhook queue: %w", err)
	}
	if first.Valid && first.Int64 > 0 {
		oldest = max(now.Sub(fromMS(first.Int64)), 0)
	}
	return pending, oldest, nil
}
