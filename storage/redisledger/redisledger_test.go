package redisledger

import (
	"testing"

	"github.com/pixelpost/pixelpost/internal/testenv"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/ledgertest"
)

func openStandalone(t *testing.T) *Ledger {
	t.Helper()
	l, err := OpenURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func openCluster(t *testing.T) *Ledger {
	t.Helper()
	l, err := OpenCluster(testenv.RedisCluster(t))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestConformance(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) storage.Ledger { return openStandalone(t) })
}

func TestConformanceCluster(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) storage.Ledger { return openCluster(t) })
}
