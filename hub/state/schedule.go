package state

import (
	"context"
	"fmt"
	"time"
)

// AppRef names one app of one integration.
type AppRef struct {
	IntegrationID string
	AppID         string
}

func (r AppRef) String() string { return r.IntegrationID + "/" + r.AppID }

// Slot is an app's row in the poll schedule.
type Slot struct {
	AppRef
	NextAt       time.Time
	LeaseOwner   string // Owner.String() of the hub holding it, "" when none
	LeaseUntil   time.Time
	Fence        int64 // the lease's fence as claimed (Claim)
	Failures     int
	Interval     time.Duration // what the last poll scheduled with
	CallsPerPoll float64
	// Note says why the next poll is later, for people; Wait is the same
	// for code when the app waits on the store (WaitQuota,
	// WaitRetryAfter; "" when not).
	Note     string
	Wait     string
	LastPoll time.Time
	// AppInterval is the app's own poll interval (0: the hub's default).
	AppInterval time.Duration
}

// Why an app waits on the store (Slot.Wait).
const (
	// WaitQuota: the store quota's polling budget is spent.
	WaitQuota = "quota"
	// WaitRetryAfter: the store asked to retry after a while.
	WaitRetryAfter = "retry_after"
)

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// Unscheduled lists apps without a schedule row (new apps, and apps whose
// settings changed: UpdateIntegration and PutIntegration remove their rows
// so that they are polled again soon), with their own poll interval.
func (d *DB) Unscheduled(ctx context.Context) ([]Slot, error) {
	rows, err := d.query(ctx, `
		SELECT a.integration_id, a.id, a.poll_interval_ms FROM apps a
		LEFT JOIN poll_schedule s ON s.integration_id = a.integration_id AND s.app_id = a.id
		WHERE s.app_id IS NULL ORDER BY a.integration_id, a.id`)
	if err != nil {
		return nil, fmt.Errorf("state: unscheduled apps: %w", err)
	}
	defer rows.Close()
	var out []Slot
	for rows.Next() {
		var s Slot
		var iv int64
		if err := rows.Scan(&s.IntegrationID, &s.AppID, &iv); err != nil {
			return nil, fmt.Errorf("state: unscheduled apps: %w", err)
		}
		s.AppInterval = time.Duration(iv) * time.Millisecond
		out = append(out, s)
	}
	return out, rows.Err()
}

// Schedule adds the rows of slots (their NextAt), leaving rows another hub
// added meanwhile as they are, and removes the rows and quota memberships
// of apps that no longer exist.
func (d *DB) Schedule(ctx context.Context, slots []Slot) error {
	return d.InTx(ctx, func(tx *Tx) error {
		for _, s := range slots {
			if _, err := tx.exec(ctx, `INSERT INTO poll_schedule (integration_id, app_id, next_at_ms) VALUES (?, ?, ?)
				ON CONFLICT (integration_id, app_id) DO NOTHING`, s.IntegrationID, s.AppID, ms(s.NextAt)); err != nil {
				return fmt.Errorf("state: schedule %s: %w", s.AppRef, err)
			}
		}
		if _, err := tx.exec(ctx, `DELETE FROM poll_schedule WHERE NOT EXISTS (SELECT 1 FROM apps a
			WHERE a.integration_id = poll_schedule.integration_id AND a.id = poll_schedule.app_id)`); err != nil {
			return fmt.Errorf("state: prune schedule: %w", err)
		}
		if _, err := tx.exec(ctx, `DELETE FROM quota_members WHERE NOT EXISTS (SELECT 1 FROM poll_schedule s
			WHERE s.integration_id = quota_members.integration_id AND s.app_id = quota_members.app_id)`); err != nil {
			return fmt.Errorf("state: prune quota members: %w", err)
		}
		return nil
	})
}

// unschedule removes an app's schedule row and quota memberships (its
// settings changed or it was removed).
func (t *Tx) unschedule(ctx context.Context, integrationID, appID string) error {
	q, args := `DELETE FROM poll_schedule WHERE integration_id = ?`, []any{integrationID}
	m := `DELETE FROM quota_members WHERE integration_id = ?`
	if appID != "" {
		q, m, args = q+` AND app_id = ?`, m+` AND app_id = ?`, append(args, appID)
	}
	if _, err := t.exec(ctx, q, args...); err != nil {
		return fmt.Errorf("state: unschedule %s/%s: %w", integrationID, appID, err)
	}
	if _, err := t.exec(ctx, m, args...); err != nil {
		return fmt.Errorf("state: unschedule %s/%s: %w", integrationID, appID, err)
	}
	return nil
}

// pollLeases is where the poll schedule keeps its leases (lease.go): in
// each app's schedule row, fenced.
var pollLeases = LeaseTable{Table: "poll_schedule", Key: []string{"integration_id", "app_id"},
	OwnerColumn: "lease_owner", UntilColumn: "lease_until_ms", FenceColumn: "lease_fence"}

// Claim leases up to limit due apps (NextAt passed, no live lease) to owner
// until now+lease, earliest due first, and moves their next time one
// interval (as last scheduled) on: if this hub dies mid-poll, another takes
// the app over when both the lease and that interval have passed. The
// returned slots carry the time they were due in NextAt and the lease's
// fence. Every claim moves the fence on, so a poll of an earlier claim
// (this hub's too) can no longer start or write. On PostgreSQL concurrent claims by
// other hubs skip the rows this one is taking (FOR UPDATE SKIP LOCKED); on
// SQLite the write transaction serialises them. The same statement serves
// both. now decides which apps are due and their next time; the leases
// run by the server's clock on PostgreSQL (lease.go), by now on SQLite.
func (d *DB) Claim(ctx context.Context, owner Owner, now time.Time, lease time.Duration, limit int) ([]Slot, error) {
	lock := ""
	if d.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	leases := pollLeases.in(d.dialect)
	set, sargs := leases.takeSet(owner, now, lease, true)
	free, fargs := leases.free(pollLeases.UntilColumn, now)
	args := append(append(sargs, ms(now), ms(now)), fargs...)
	var out []Slot
	err := d.InTx(ctx, func(tx *Tx) error {
		out = out[:0]
		rows, err := tx.query(ctx, `
			UPDATE poll_schedule SET `+set+`, due_ms = next_at_ms, next_at_ms = ? + interval_ms
			WHERE (integration_id, app_id) IN (
				SELECT integration_id, app_id FROM poll_schedule
				WHERE next_at_ms <= ? AND `+free+`
				ORDER BY next_at_ms LIMIT ?`+lock+`)
			RETURNING integration_id, app_id, due_ms, failures, interval_ms, calls_per_poll, note, wait, last_poll_ms, lease_fence,
				lease_until_ms`,
			append(args, limit)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			s := Slot{LeaseOwner: owner.String()}
			var next, iv, last, until int64
			if err := rows.Scan(&s.IntegrationID, &s.AppID, &next, &s.Failures, &iv, &s.CallsPerPoll, &s.Note, &s.Wait, &last, &s.Fence,
				&until); err != nil {
				return err
			}
			s.NextAt, s.Interval, s.LastPoll, s.LeaseUntil = fromMS(next), time.Duration(iv)*time.Millisecond, fromMS(last), fromMS(until)
			out = append(out, s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("state: claim due apps: %w", err)
	}
	return out, nil
}

// lease is the lease s was claimed with by owner.
func (s Slot) lease(owner Owner) Lease {
	return Lease{Owner: owner, Fence: s.Fence, Until: s.LeaseUntil}
}

// StartPoll is called by the hub holding s's lease right before it lists
// the app's reviews. It reports whether owner still holds the lease as
// claimed (false: another hub, or a later claim, took the app over
// meanwhile; the caller must not list it),
// and when it does, renews the lease to now+lease and moves the app's next
// time to now+interval. The claim moved the next time one interval from
// the claim; a poll that reached its listing late (its hub waited seconds
// for the database, or its renewals lapsed) and whose hub then died left
// the app due again less than an interval after that listing, and another
// hub listed it a second time (TestThreeHubsPollEachAppOncePerInterval).
// Now the next time counts from the listing, and a hub whose lease was
// taken over does not list. Claims take rows of other owners only, and a
// claim in progress holds the row, so the owner and fence check is the fence.
func (d *DB) StartPoll(ctx context.Context, owner Owner, s Slot, now time.Time, lease, interval time.Duration) (bool, error) {
	until, uargs := pollLeases.in(d.dialect).until(now, lease)
	held, hargs := pollLeases.held(s.lease(owner))
	args := append(append(append(uargs, ms(now.Add(interval))), s.IntegrationID, s.AppID), hargs...)
	res, err := d.exec(ctx, `UPDATE poll_schedule SET lease_until_ms = `+until+`, next_at_ms = ?
		WHERE integration_id = ? AND app_id = ? AND `+held, args...)
	if err != nil {
		return false, fmt.Errorf("state: start polling %s: %w", s.AppRef, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("state: start polling %s: %w", s.AppRef, err)
	}
	return n == 1, nil
}

// RenewLeases extends the leases of held, the slots owner's workers hold
// now (each by its key and fence, as claimed), to now+lease; it returns
// how many it still holds. Only those: a lease the hub no longer works on
// (its release failed) is left to expire, so the app is polled again,
// where renewing every row of the owner kept it forever.
func (d *DB) RenewLeases(ctx context.Context, owner Owner, held []Slot, now time.Time, lease time.Duration) (int, error) {
	l := d.Leases(pollLeases, owner)
	n := 0
	for _, s := range held {
		ok, err := l.Renew(ctx, s.lease(owner), now, lease, s.IntegrationID, s.AppID)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// Release ends owner's lease of s.AppRef (as claimed: s.Fence) and writes
// the next poll time and what the poll learnt. It reports false when the
// lease was lost meanwhile (another hub or a later claim took the app
// over, or the app changed or was removed).
func (d *DB) Release(ctx context.Context, owner Owner, s Slot) (bool, error) {
	held, hargs := pollLeases.held(s.lease(owner))
	res, err := d.exec(ctx, `
		UPDATE poll_schedule SET `+pollLeases.clearSet()+`, next_at_ms = ?, failures = ?,
			interval_ms = ?, calls_per_poll = ?, note = ?, wait = ?, last_poll_ms = ?
		WHERE integration_id = ? AND app_id = ? AND `+held,
		append([]any{ms(s.NextAt), s.Failures, s.Interval.Milliseconds(), s.CallsPerPoll, s.Note, s.Wait, ms(s.LastPoll),
			s.IntegrationID, s.AppID}, hargs...)...)
	if err != nil {
		return false, fmt.Errorf("state: release %s: %w", s.AppRef, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// NextDue is the earliest NextAt of the apps no hub holds, if any.
func (d *DB) NextDue(ctx context.Context) (time.Time, bool, error) {
	var v *int64
	if err := d.queryRow(ctx, `SELECT MIN(next_at_ms) FROM poll_schedule WHERE lease_owner = ''`).Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("state: next due poll: %w", err)
	}
	if v == nil {
		return time.Time{}, false, nil
	}
	return fromMS(*v), true, nil
}

// ScheduleOf returns the schedule rows of an integration's apps.
func (d *DB) ScheduleOf(ctx context.Context, integrationID string) (map[string]Slot, error) {
	rows, err := d.query(ctx, `
		SELECT app_id, next_at_ms, lease_owner, lease_until_ms, failures, interval_ms, calls_per_poll, note, wait, last_poll_ms
		FROM poll_schedule WHERE integration_id = ?`, integrationID)
	if err != nil {
		return nil, fmt.Errorf("state: schedule of %s: %w", integrationID, err)
	}
	defer rows.Close()
	out := map[string]Slot{}
	for rows.Next() {
		s := Slot{AppRef: AppRef{IntegrationID: integrationID}}
		var next, until, iv, last int64
		if err := rows.Scan(&s.AppID, &next, &s.LeaseOwner, &until, &s.Failures, &iv, &s.CallsPerPoll, &s.Note, &s.Wait, &last); err != nil {
			return nil, fmt.Errorf("state: schedule of %s: %w", integrationID, err)
		}
		s.NextAt, s.LeaseUntil, s.Interval, s.LastPoll = fromMS(next), fromMS(until), time.Duration(iv)*time.Millisecond, fromMS(last)
		out[s.AppID] = s
	}
	return out, rows.Err()
}

// QuotaSpend adds calls to bucket's slot starting at slot, and drops the
// bucket's slots that started before dropBefore.
func (d *DB) QuotaSpend(ctx context.Context, bucket string, slot time.Time, calls int, dropBefore time.Time) error {
	return d.QuotaSettle(ctx, bucket, slot, 0, slot, calls, dropBefore)
}

const addQuota = `INSERT INTO quota_use (bucket, slot_ms, calls) VALUES (?, ?, ?)
	ON CONFLICT (bucket, slot_ms) DO UPDATE SET calls = quota_use.calls + excluded.calls`

// addQuota adds calls to bucket's slot.
func (t *Tx) addQuota(ctx context.Context, bucket string, slot time.Time, calls int) error {
	if _, err := t.exec(ctx, addQuota, bucket, ms(slot), calls); err != nil {
		return fmt.Errorf("state: spend quota: %w", err)
	}
	return nil
}

// lockQuota serialises the transactions that check and change bucket's
// use across hubs (SQLite's write transaction already does).
func (t *Tx) lockQuota(ctx context.Context, bucket string) error {
	if t.db.dialect != Postgres {
		return nil
	}
	_, err := t.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(?))`, "quota/"+bucket)
	return err
}

// QuotaSettle moves a reservation of reserved calls in slot from to spent
// calls in slot to, in one step for every hub (a check between the two
// writes would see neither and could overspend).
func (d *DB) QuotaSettle(ctx context.Context, bucket string, from time.Time, reserved int, to time.Time, spent int, dropBefore time.Time) error {
	err := d.InTx(ctx, func(tx *Tx) error {
		if err := tx.lockQuota(ctx, bucket); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM quota_use WHERE bucket = ? AND slot_ms < ?`, bucket, ms(dropBefore)); err != nil {
			return err
		}
		for _, c := range []struct {
			slot  time.Time
			calls int
		}{{from, -reserved}, {to, spent}} {
			if c.calls == 0 {
				continue
			}
			if err := tx.addQuota(ctx, bucket, c.slot, c.calls); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: settle quota: %w", err)
	}
	return nil
}

// QuotaUsed is the calls spent from bucket in slots starting at or after
// since.
func (d *DB) QuotaUsed(ctx context.Context, bucket string, since time.Time) (int, error) {
	var n int64
	if err := d.queryRow(ctx, `SELECT COALESCE(SUM(calls), 0) FROM quota_use WHERE bucket = ? AND slot_ms >= ?`,
		bucket, ms(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("state: quota use: %w", err)
	}
	return int(n), nil
}

// QuotaJoin records that ref polls through bucket, costing callsPerPoll
// requests every interval.
func (d *DB) QuotaJoin(ctx context.Context, bucket string, ref AppRef, callsPerPoll float64, interval time.Duration) error {
	_, err := d.exec(ctx, `INSERT INTO quota_members (bucket, integration_id, app_id, calls_per_poll, interval_ms, seen_ms)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (bucket, integration_id, app_id) DO UPDATE SET calls_per_poll = excluded.calls_per_poll,
			interval_ms = excluded.interval_ms, seen_ms = excluded.seen_ms`,
		bucket, ref.IntegrationID, ref.AppID, callsPerPoll, max(interval.Milliseconds(), 1), ms(d.now()))
	if err != nil {
		return fmt.Errorf("state: join quota: %w", err)
	}
	return nil
}

// QuotaDemand is how many apps poll through bucket and the requests per
// hour their polling asks for at their own intervals.
func (d *DB) QuotaDemand(ctx context.Context, bucket string) (apps int, perHour float64, err error) {
	err = d.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(calls_per_poll * 3600000.0 / interval_ms), 0)
		FROM quota_members WHERE bucket = ?`, bucket).Scan(&apps, &perHour)
	if err != nil {
		return 0, 0, fmt.Errorf("state: quota demand: %w", err)
	}
	return apps, perHour, nil
}

// QuotaTake spends n calls from bucket's slot at slot if the calls spent
// since since plus n stay within budget; otherwise it spends nothing and
// reports false. The check and the spending are one step for every hub
// (the write transaction serialises SQLite; PostgreSQL takes a transaction
// lock on the bucket).
func (d *DB) QuotaTake(ctx context.Context, bucket string, slot, since time.Time, n, budget int) (used int, ok bool, err error) {
	err = d.InTx(ctx, func(tx *Tx) error {
		if err := tx.lockQuota(ctx, bucket); err != nil {
			return err
		}
		var sum int64
		if err := tx.queryRow(ctx, `SELECT COALESCE(SUM(calls), 0) FROM quota_use WHERE bucket = ? AND slot_ms >= ?`,
			bucket, ms(since)).Scan(&sum); err != nil {
			return err
		}
		used = int(sum)
		if used+n > budget {
			ok = false
			return nil
		}
		ok = true
		return tx.addQuota(ctx, bucket, slot, n)
	})
	if err != nil {
		return 0, false, fmt.Errorf("state: take quota: %w", err)
	}
	return used, ok, nil
}

// ScheduleCounts counts the apps in the schedule, those due at now and no
// hub holds, and those a hub holds (by the clock the leases run by).
func (d *DB) ScheduleCounts(ctx context.Context, now time.Time) (apps, due, leased int, err error) {
	free, fargs := pollLeases.in(d.dialect).free(pollLeases.UntilColumn, now)
	args := append(append([]any{ms(now)}, fargs...), fargs...)
	err = d.queryRow(ctx, `SELECT COUNT(*),
			COALESCE(SUM(CASE WHEN next_at_ms <= ? AND `+free+` THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN `+free+` THEN 0 ELSE 1 END), 0)
		FROM poll_schedule`, args...).Scan(&apps, &due, &leased)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("state: count the schedule: %w", err)
	}
	return apps, due, leased, nil
}

// ReleaseLeases ends the leases held under owner's name by another
// instance (a restarted hub ends those of its killed predecessor, which had
// the same name, instead of waiting for them to expire; Leases.
// ReleasePredecessors); all leases when all is set (SQLite: one hub per
// database). The apps' next times stay.
func (d *DB) ReleaseLeases(ctx context.Context, owner Owner, all bool) (int, error) {
	if !all {
		n, err := d.Leases(pollLeases, owner).ReleasePredecessors(ctx)
		return int(n), err
	}
	res, err := d.exec(ctx, `UPDATE poll_schedule SET `+pollLeases.clearSet()+` WHERE lease_owner <> ''`)
	if err != nil {
		return 0, fmt.Errorf("state: release leases: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
