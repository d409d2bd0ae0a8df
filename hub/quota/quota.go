// Package quota budgets the stores' request quotas. A store plugin declares
// its quota buckets (sdk.QuotaBucket) and the SDK reports the requests each
// call spent; the hub keeps each bucket's use in the state, keyed by a
// digest of the credential it is counted for, so every hub sharing the
// database sees the same budget. Polling stays inside the budget with a
// share kept for replies: a poll that would overspend waits, and the apps
// sharing a bucket have their intervals lengthened so that together they
// ask for no more than the budget.
package quota

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// DefaultReplyReserve is the share of a bucket kept for replies when
// replies spend from it too.
const DefaultReplyReserve = 0.2

// Bucket is one quota bucket counted for one credential.
type Bucket struct {
	sdk.QuotaBucket
	// Key identifies the bucket and credential in the state.
	Key string
	// Account names the credential for operators (non-secret setting
	// values; a digest of secret ones).
	Account string
}

// slots a window is counted in.
const slots = 60

// Slot is the length of one counting slot.
func (b Bucket) Slot() time.Duration { return max(b.Window/slots, time.Millisecond) }

// since is the start of the oldest slot counted in the window ending at
// now: the slot now-window falls in is counted whole, and one slot more
// covers the time between the hub counting a request and the store
// receiving it, so the hub's count errs on the safe side.
func (b Bucket) since(now time.Time) time.Time {
	return now.Add(-b.Window).Truncate(b.Slot()).Add(-b.Slot())
}

// freesAt is when the oldest slot counted at now stops being counted.
func (b Bucket) freesAt(now time.Time) time.Time { return b.since(now).Add(b.Window + 2*b.Slot()) }

// PollBudget is what polling may spend per window: the limit less the
// reserve for replies when replies spend from the bucket.
func (b Bucket) PollBudget(reserve float64) int {
	if !b.Spends(sdk.OpReply) {
		return b.Limit
	}
	return max(int(float64(b.Limit)*(1-reserve)), 1)
}

// Buckets are the quota buckets an app's calls of op spend from. A bucket
// counted per credential settings that the app leaves empty does not apply
// (a public listing spends no key's quota); invalid declarations are
// skipped.
func Buckets(info sdk.Info, app state.App, op string) []Bucket {
	if info.Store == nil {
		return nil
	}
	secret := map[string]bool{}
	for _, f := range info.Settings {
		secret[f.Key] = f.Secret
	}
	var out []Bucket
	for _, q := range info.Store.Quotas {
		if q.Limit <= 0 || q.Window <= 0 || q.Name == "" || !q.Spends(op) {
			continue
		}
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00%s\x00", info.Name, q.Name)
		var account []string
		credential := len(q.Per) == 0
		for _, k := range q.Per {
			v := app.StoreSettings[k]
			if k == sdk.QuotaPerApp {
				v = app.StoreAppID
			} else if v != "" {
				credential = true
			}
			fmt.Fprintf(h, "%s=%s\x00", k, v)
			switch {
			case k == sdk.QuotaPerApp:
				account = append(account, "app "+v)
			case secret[k]:
				d := sha256.Sum256([]byte(v))
				account = append(account, k+" "+hex.EncodeToString(d[:4]))
			default:
				account = append(account, k+" "+v)
			}
		}
		if !credential && !slices.Contains(q.Per, sdk.QuotaPerApp) {
			continue
		}
		out = append(out, Bucket{QuotaBucket: q, Key: info.Name + "/" + hex.EncodeToString(h.Sum(nil)[:12]),
			Account: strings.Join(account, ", ")})
	}
	return out
}

// Spend records calls spent from each bucket at now.
func Spend(ctx context.Context, db *state.DB, buckets []Bucket, now time.Time, calls int) error {
	for _, b := range buckets {
		if err := db.QuotaSpend(ctx, b.Key, now.Truncate(b.Slot()), calls, b.since(now)); err != nil {
			return err
		}
	}
	return nil
}

// Use is a bucket's state at one moment.
type Use struct {
	Bucket Bucket
	// Used is what was spent in the window ending now.
	Used int
	// Budget is what polling may spend per window.
	Budget int
	// FreesAt is when the oldest counted slot leaves the window.
	FreesAt time.Time
}

// Read returns b's use at now.
func Read(ctx context.Context, db *state.DB, b Bucket, now time.Time, reserve float64) (Use, error) {
	since := b.since(now)
	used, err := db.QuotaUsed(ctx, b.Key, since)
	if err != nil {
		return Use{}, err
	}
	return Use{Bucket: b, Used: used, Budget: b.PollBudget(reserve), FreesAt: b.freesAt(now)}, nil
}

// pending is the slot a reservation made at now is kept in until it is
// settled: one window ahead, so that every check counts it however long
// the call takes (and, if the hub dies before settling, for a window more).
func (b Bucket) pending(now time.Time) time.Time { return now.Add(b.Window).Truncate(b.Slot()) }

// Take reserves n calls from every bucket for a poll, if each has room in
// its polling budget; otherwise it reserves nothing and returns the use of
// the first bucket without room. Settle the reservation when the call ends.
func Take(ctx context.Context, db *state.DB, buckets []Bucket, now time.Time, n int, reserve float64) (*Use, error) {
	for i, b := range buckets {
		used, ok, err := db.QuotaTake(ctx, b.Key, b.pending(now), b.since(now), n, b.PollBudget(reserve))
		if err != nil {
			return nil, err
		}
		if !ok {
			// Give back what the earlier buckets reserved.
			for _, e := range buckets[:i] {
				if err := db.QuotaSpend(ctx, e.Key, e.pending(now), -n, e.since(now)); err != nil {
					return nil, err
				}
			}
			return &Use{Bucket: b, Used: used, Budget: b.PollBudget(reserve), FreesAt: b.freesAt(now)}, nil
		}
	}
	return nil, nil
}

// Settle replaces a reservation of reserved calls made by Take at from with
// the spent calls counted at to (when the call ended): a request is counted
// in the slot of the latest moment it may have reached the store, so the
// count never leaves the window before the store's does.
func Settle(ctx context.Context, db *state.DB, buckets []Bucket, from time.Time, reserved int, to time.Time, spent int) error {
	for _, b := range buckets {
		if err := db.QuotaSettle(ctx, b.Key, b.pending(from), reserved, to.Truncate(b.Slot()), spent, b.since(to)); err != nil {
			return err
		}
	}
	return nil
}

// Stretch is how an app's interval is lengthened to fit a bucket.
type Stretch struct {
	Bucket   Bucket
	Apps     int
	Interval time.Duration // the lengthened interval
	// Asked is the requests per hour the bucket's apps ask for at their own
	// intervals; Budget what polling may spend per hour.
	Asked, Budget float64
}

func (s Stretch) String() string {
	who := fmt.Sprintf("is shared by %d apps", s.Apps)
	if s.Apps == 1 {
		who = "has one app"
	}
	return fmt.Sprintf("%s (%s) %s asking %.0f requests/h, the polling budget is %.0f/h (limit %d per %s)",
		s.Bucket.Name, s.Bucket.Account, who, s.Asked, s.Budget, s.Bucket.Limit, s.Bucket.Window)
}

// Fit records (when join is set) that ref polls through the buckets at
// interval costing callsPerPoll, and returns the interval that keeps every bucket's apps
// together inside its polling budget (interval itself when they fit), with
// the bucket that lengthened it most.
func Fit(ctx context.Context, db *state.DB, buckets []Bucket, ref state.AppRef, interval time.Duration,
	callsPerPoll, reserve float64, join bool) (time.Duration, *Stretch, error) {
	out := interval
	var worst *Stretch
	for _, b := range buckets {
		if join {
			if err := db.QuotaJoin(ctx, b.Key, ref, callsPerPoll, interval); err != nil {
				return interval, nil, err
			}
		}
		apps, asked, err := db.QuotaDemand(ctx, b.Key)
		if err != nil {
			return interval, nil, err
		}
		budget := float64(b.PollBudget(reserve)) * float64(time.Hour) / float64(b.Window)
		if asked <= budget {
			continue
		}
		iv := time.Duration(float64(interval) * asked / budget)
		if iv > out {
			out = iv
			worst = &Stretch{Bucket: b, Apps: apps, Interval: iv, Asked: asked, Budget: budget}
		}
	}
	return out, worst, nil
}
