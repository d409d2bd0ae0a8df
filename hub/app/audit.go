package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/hub/config"
	"github.com/reviewhub/reviewhub/hub/state"
)

// auditPruneEvery is how often audit entries past their retention are
// deleted.
const auditPruneEvery = time.Hour

// PruneAudit deletes the audit entries older than retention before now
// and returns how many (audit.retention in the config).
func PruneAudit(ctx context.Context, db *state.DB, retention time.Duration, now time.Time) (int64, error) {
	return db.PruneAudit(ctx, now.Add(-retention))
}

// runAuditPruning prunes the audit log at start and then every
// auditPruneEvery until ctx ends (several hubs on one PostgreSQL state
// each prune; deleting twice deletes nothing more).
func runAuditPruning(ctx context.Context, wg *sync.WaitGroup, db *state.DB, retention time.Duration, log *slog.Logger) {
	if retention <= 0 { // a config not through config.Parse: never prune everything
		retention = config.DefaultAuditRetention
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(auditPruneEvery)
		defer t.Stop()
		for {
			pctx, cancel := context.WithTimeout(ctx, time.Minute)
			n, err := PruneAudit(pctx, db, retention, time.Now())
			cancel()
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("pruning the audit log failed", "error", err)
			case n > 0:
				log.Info("pruned the audit log", "entries", n, "retention", retention)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}
