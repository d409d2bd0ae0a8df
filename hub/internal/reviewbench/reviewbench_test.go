package reviewbench

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/reviewhub/reviewhub/hub/state"
)

// The benchmark's pieces work on a small state: the generator writes what
// it says, every measured page renders, and the searches find reviews.
func TestGenerateAndMeasureSmall(t *testing.T) {
	ctx := context.Background()
	db, err := state.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hub.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	shape := Shape{Integrations: 5, Apps: 4, Reviews: 4000, Answered: 0.2, Seed: 1}
	n, err := Generate(ctx, db, shape, nil)
	if err != nil || n != 4000 {
		t.Fatalf("generated %d: %v", n, err)
	}
	var have int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM reviews`).Scan(&have); err != nil || have != 4000 {
		t.Fatalf("%d reviews stored (%v)", have, err)
	}
	c, err := NewConsole(db)
	if err != nil {
		t.Fatal(err)
	}
	figs, err := Measure(ctx, c, Queries, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	for _, f := range figs {
		rows[f.Name] = f.Rows
	}
	for _, name := range []string{"first page, no filter", "en word + ratings 1-2", "zh 1 char", "ja 4 chars + integration + app", "ko 2 chars + language", "th + dates"} {
		if rows[name] == 0 {
			t.Errorf("%s: no rows", name)
		}
	}
	if rows["no match (every index looked at)"] != 0 {
		t.Errorf("the query that matches nothing found %d", rows["no match (every index looked at)"])
	}
}
