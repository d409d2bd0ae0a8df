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

// Ledger keeps the buckets' use in the state: what polls reserve and
// spend, what replies spend, and how the apps sharing a bucket fit in it.
type Ledger struct {
	DB *state.DB
	// ReplyReserve is the share of a bucket kept for replies when replies
	// spend from it too (outside (0, 1): DefaultReplyReserve).
	ReplyReserve float64
}

// reserve is the share kept for replies.
func (l Ledger) reserve() float64 {
	if l.ReplyReserve <= 0 || l.ReplyReserve >= 1 {
		return DefaultReplyReserve
	}
	return l.ReplyReserve
}

// Spend records calls spent from each bucket at at.
func (l Ledger) Spend(ctx context.Context, buckets []Bucket, at time.Time, calls int) error {
	for _, b := range buckets {
		if err := l.DB.QuotaSpend(ctx, b.Key, at.Truncate(b.Slot()), calls, b.since(at)); err != nil {
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

// Read returns b's use at at.
func (l Ledger) Read(ctx context.Context, b Bucket, at time.Time) (Use, error) {
	used, err := l.DB.QuotaUsed(ctx, b.Key, b.since(at))
	if err != nil {
		return Use{}, err
	}
	return Use{Bucket: b, Used: used, Budget: b.PollBudget(l.reserve()), FreesAt: b.freesAt(at)}, nil
}

// pending is the slot a reservation made at now is kept in until it is
// settled: one window ahead, so that every check counts it however long
// the call takes (and, if the hub dies before settling, for a window more).
func (b Bucket) pending(now time.Time) time.Time { return now.Add(b.Window).Truncate(b.Slot()) }

// Reservation is calls reserved from buckets at At by Take, counted until
// Settle replaces them with the calls spent.
type Reservation struct {
	Buckets []Bucket
	At      time.Time
	Calls   int
}

// Take reserves calls from every bucket at at for a poll, if each has room
// in its polling budget: ok. Otherwise it reserves nothing (ok false) and
// full is the use of the first bucket without room. Settle the
// reservation when the call ends; one that reserved nothing settles as
// nothing.
func (l Ledger) Take(ctx context.Context, buckets []Bucket, at time.Time, calls int) (r Reservation, full Use, ok bool, err error) {
	reserve := l.reserve()
	for i, b := range buckets {
		used, ok, err := l.DB.QuotaTake(ctx, b.Key, b.pending(at), b.since(at), calls, b.PollBudget(reserve))
		if err != nil {
			return Reservation{}, Use{}, false, err
		}
		if !ok {
			// Give back what the earlier buckets reserved.
			for _, e := range buckets[:i] {
				if err := l.DB.QuotaSpend(ctx, e.Key, e.pending(at), -calls, e.since(at)); err != nil {
					return Reservation{}, Use{}, false, err
				}
			}
			return Reservation{}, Use{Bucket: b, Used: used, Budget: b.PollBudget(reserve), FreesAt: b.freesAt(at)}, false, nil
		}
	}
	return Reservation{Buckets: buckets, At: at, Calls: calls}, Use{}, true, nil
}

// Settle replaces r, a reservation made by Take, with the spent calls
// counted at end (when the call ended): a request is counted in the slot
// of the latest moment it may have reached the store, so the count never
// leaves the window before the store's does.
func (l Ledger) Settle(ctx context.Context, r Reservation, end time.Time, spent int) error {
	for _, b := range r.Buckets {
		if err := l.DB.QuotaSettle(ctx, b.Key, b.pending(r.At), r.Calls, end.Truncate(b.Slot()), spent, b.since(end)); err != nil {
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

// Demand is how one app polls through its buckets.
type Demand struct {
	App          state.AppRef
	Interval     time.Duration
	CallsPerPoll float64
	// Record: write this demand into the buckets (the app is new to them
	// or its cost changed); otherwise the buckets' recorded demand is read
	// as it is.
	Record bool
}

// Fit records d (when d.Record is set) and returns the interval that keeps
// every bucket's apps together inside its polling budget (d.Interval
// itself when they fit), with the bucket that lengthened it most (nil:
// none did).
func (l Ledger) Fit(ctx context.Context, buckets []Bucket, d Demand) (time.Duration, *Stretch, error) {
	out := d.Interval
	var worst *Stretch
	for _, b := range buckets {
		if d.Record {
			if err := l.DB.QuotaJoin(ctx, b.Key, d.App, d.CallsPerPoll, d.Interval); err != nil {
				return d.Interval, nil, err
			}
		}
		apps, asked, err := l.DB.QuotaDemand(ctx, b.Key)
		if err != nil {
			return d.Interval, nil, err
		}
		budget := float64(b.PollBudget(l.reserve())) * float64(time.Hour) / float64(b.Window)
		if asked <= budget {
			continue
		}
		iv := time.Duration(float64(d.Interval) * asked / budget)
		if iv > out {
			out = iv
			worst = &Stretch{Bucket: b, Apps: apps, Interval: iv, Asked: asked, Budget: budget}
		}
	}
	return out, worst, nil
}
