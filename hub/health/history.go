package health

import (
	"fmt"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
)

// historyShown is how long a finished, complete import is still shown.
const historyShown = 7 * 24 * time.Hour

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// lastDay is the last day of a range whose end is exclusive.
func lastDay(to time.Time) string { return day(to.Add(-time.Nanosecond)) }

// HistoryNote says, for people, what the app's newest history import (a
// gap recovery or an import asked for) recovered and what is still
// missing (issue 27); "" when there is none worth showing. window is the
// store's listing window.
func HistoryNote(h state.HistoryImport, now time.Time, window time.Duration) string {
	if h.Started.IsZero() {
		return ""
	}
	span := day(h.From) + " to " + lastDay(h.To)
	switch {
	case h.Running() && h.LastError != "":
		return fmt.Sprintf("recovering the reviews of %s from the store's history stopped after page %d (%d reviews so far): %s; it resumes at the next poll",
			span, h.Pages, h.Reviews, h.LastError)
	case h.Running():
		pct := ""
		if h.Total > 0 {
			pct = fmt.Sprintf(" %d%%,", min(h.Done, h.Total)*100/h.Total)
		}
		return fmt.Sprintf("recovering the reviews of %s from the store's history:%s %d reviews, %d queued so far", span, pct, h.Reviews, h.Queued)
	case h.LastError != "":
		return fmt.Sprintf("the reviews of %s could not be recovered: %s", span, h.LastError)
	case !h.CompleteUntil.IsZero():
		missingTo := now.Add(-window)
		if window <= 0 || !missingTo.After(h.CompleteUntil) {
			missingTo = h.To
		}
		return fmt.Sprintf("recovered the reviews of %s to %s (%d reviews, %d queued); %s to %s still missing: the store's history lags, they are imported when it has them",
			day(h.From), day(h.CompleteUntil), h.Reviews, h.Queued, day(h.CompleteUntil), day(missingTo))
	case now.Sub(h.Finished) <= historyShown:
		return fmt.Sprintf("recovered the reviews of %s from the store's history (%d reviews, %d queued) on %s", span, h.Reviews, h.Queued, day(h.Finished))
	}
	return ""
}
