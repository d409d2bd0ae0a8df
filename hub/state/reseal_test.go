package state

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/reviewhub/reviewhub/hub/internal/pgtest"
	"github.com/reviewhub/reviewhub/hub/secrets"
	"github.com/reviewhub/reviewhub/sdk"
)

// Reseal seals every stored secret with the new key while the old one is
// accepted; afterwards the new key alone opens everything, and a second
// run finds nothing to do.
func TestResealWithNewKey(t *testing.T) {
	ctx := context.Background()
	oldKey, newKey := bytes.Repeat([]byte{1}, secrets.KeySize), bytes.Repeat([]byte{2}, secrets.KeySize)
	seal := func(t *testing.T, key []byte, accepted ...[]byte) *secrets.Sealer {
		s, err := secrets.New(key, accepted...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	test := func(t *testing.T, openDB func(*secrets.Sealer) (*DB, error)) {
		old, err := openDB(seal(t, oldKey))
		if err != nil {
			t.Fatal(err)
		}
		in := Integration{ID: "acme", Source: SourceConfig, HelpdeskPlugin: "desk", HelpdeskSettings: sdk.Settings{"api_key": "hk"},
			Apps: []App{{IntegrationID: "acme", ID: "ios", StorePlugin: "store", StoreAppID: "1", StoreSettings: sdk.Settings{"key": "sk"}},
				{IntegrationID: "acme", ID: "android", StorePlugin: "store", StoreAppID: "2"}}}
		if err := old.InTx(ctx, func(tx *Tx) error { return tx.PutIntegration(ctx, in) }); err != nil {
			t.Fatal(err)
		}
		if err := old.PutAlerts(ctx, "acme", AlertConfig{WebhookURL: "https://hooks.example.com/x"}); err != nil {
			t.Fatal(err)
		}
		old.Close()

		rotating, err := openDB(seal(t, newKey, oldKey))
		if err != nil {
			t.Fatal(err)
		}
		c, err := rotating.Reseal(ctx)
		if err != nil || c != (ResealCount{Resealed: 3}) {
			t.Fatalf("reseal: %+v %v", c, err)
		}
		if c, err = rotating.Reseal(ctx); err != nil || c != (ResealCount{Current: 3}) {
			t.Fatalf("reseal again: %+v %v", c, err)
		}
		rotating.Close()

		rotated, err := openDB(seal(t, newKey))
		if err != nil {
			t.Fatal(err)
		}
		defer rotated.Close()
		got, err := rotated.Integration(ctx, "acme")
		if err != nil || got.HelpdeskSettings["api_key"] != "hk" || got.Apps[1].StoreSettings["key"] != "sk" {
			t.Fatalf("with the new key alone: %+v %v", got, err)
		}
		if a, err := rotated.Alerts(ctx, "acme"); err != nil || a.WebhookURL != "https://hooks.example.com/x" {
			t.Fatalf("alerts with the new key alone: %+v %v", a, err)
		}
		stale, err := openDB(seal(t, oldKey))
		if err != nil {
			t.Fatal(err)
		}
		defer stale.Close()
		if _, err := stale.Integration(ctx, "acme"); err == nil {
			t.Error("the old key still opens the credentials")
		}
		if _, err := stale.Reseal(ctx); err == nil {
			t.Error("reseal with a key that opens nothing")
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hub.db")
		test(t, func(s *secrets.Sealer) (*DB, error) { return OpenSQLite(ctx, path, s) })
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		test(t, func(s *secrets.Sealer) (*DB, error) { return OpenPostgres(ctx, dsn, s) })
	})
}
