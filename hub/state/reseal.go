package state

import (
	"context"
	"errors"
	"fmt"
)

// sealedColumns are the state's sealed values: each table, its key columns
// and its sealed column.
var sealedColumns = []struct{ table, key, column string }{
	{"integrations", "id", "helpdesk_settings"},
	{"apps", "integration_id || '/' || id", "store_settings"},
	{"integration_alerts", "integration_id", "webhook_url"},
	{"webhook_endpoints", "id", "secret"},
}

// ResealCount is what Reseal did.
type ResealCount struct {
	// Resealed values were sealed with an accepted key and are now sealed
	// with the current one; Current ones were already.
	Resealed, Current int
	// Changed values were written by a hub while being resealed (with the
	// key that hub seals with): run Reseal again to check them.
	Changed int
}

// Reseal seals every stored secret (credentials, alert webhooks) that the
// sealer's accepted keys opened with its current key, one value at a time
// (compare and swap: a value a hub writes meanwhile is left to it), so
// hubs may run while it works (hub rotate-key). A value no configured key
// opens is an error naming its table and row (never the value).
func (d *DB) Reseal(ctx context.Context) (ResealCount, error) {
	var c ResealCount
	if d.sealer == nil {
		return c, errors.New("state: reseal: no secret key")
	}
	for _, sc := range sealedColumns {
		type value struct {
			key    string
			sealed []byte
		}
		var values []value
		rows, err := d.sql.QueryContext(ctx, `SELECT `+sc.key+`, `+sc.column+` FROM `+sc.table+` WHERE `+sc.column+` IS NOT NULL`)
		if err != nil {
			return c, fmt.Errorf("state: reseal %s: %w", sc.table, err)
		}
		for rows.Next() {
			var v value
			if err := rows.Scan(&v.key, &v.sealed); err != nil {
				rows.Close()
				return c, fmt.Errorf("state: reseal %s: %w", sc.table, err)
			}
			if len(v.sealed) > 0 {
				values = append(values, v)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return c, fmt.Errorf("state: reseal %s: %w", sc.table, err)
		}
		for _, v := range values {
			plain, current, err := d.sealer.OpenCurrent(v.sealed)
			if err != nil {
				return c, fmt.Errorf("state: reseal %s %s of %s: %w", sc.table, sc.column, v.key, err)
			}
			if current {
				c.Current++
				continue
			}
			sealed, err := d.sealer.Seal(plain)
			if err != nil {
				return c, fmt.Errorf("state: reseal %s %s of %s: %w", sc.table, sc.column, v.key, err)
			}
			res, err := d.exec(ctx, `UPDATE `+sc.table+` SET `+sc.column+` = ? WHERE `+sc.key+` = ? AND `+sc.column+` = ?`, sealed, v.key, v.sealed)
			if err != nil {
				return c, fmt.Errorf("state: reseal %s %s of %s: %w", sc.table, sc.column, v.key, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return c, fmt.Errorf("state: reseal %s %s of %s: %w", sc.table, sc.column, v.key, err)
			} else if n == 0 {
				c.Changed++
			} else {
				c.Resealed++
			}
		}
	}
	return c, nil
}
