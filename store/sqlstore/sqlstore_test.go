package sqlstore

import (
	"testing"
	"testing/fstest"
)

func TestRebind(t *testing.T) {
	d := &Dialect{Numbered: true}
	got := d.Rebind(`UPDATE t SET a = ?, b = ? WHERE c = ? AND d LIKE '%x%'`)
	if want := `UPDATE t SET a = $1, b = $2 WHERE c = $3 AND d LIKE '%x%'`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if q := (&Dialect{}).Rebind("a = ?"); q != "a = ?" {
		t.Fatalf("question marks changed for a dialect that uses them: %s", q)
	}
}

func TestLoadMigrations(t *testing.T) {
	file := &fstest.MapFile{Data: []byte("SELECT 1;")}
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		ok    bool
	}{
		{"fail/gap", fstest.MapFS{"0001_a.sql": file, "0003_c.sql": file}, false},
		{"fail/doubled", fstest.MapFS{"0001_a.sql": file, "1_b.sql": file}, false},
		{"fail/unnumbered", fstest.MapFS{"init.sql": file}, false},
		{"fail/zero", fstest.MapFS{"0000_a.sql": file}, false},
		{"ok/ordered", fstest.MapFS{"0002_b.sql": file, "0001_a.sql": file, "README": file}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := loadMigrations(tc.files)
			if (err == nil) != tc.ok {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && (len(ms) != 2 || ms[0].name != "a" || ms[1].version != 2) {
				t.Fatalf("got %+v", ms)
			}
		})
	}
}
