package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/store/sqlite"
	"github.com/latchsh/latch/store/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(":memory:")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestWALFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "latch.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
