package postgres_test

import (
	"os"
	"testing"

	"github.com/latchsh/latch/store"
	"github.com/latchsh/latch/store/postgres"
	"github.com/latchsh/latch/store/storetest"
	"github.com/latchsh/latch/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopPostgres()
	os.Exit(code)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := postgres.Open(t.Context(), testenv.StartPostgres(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
