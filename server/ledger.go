package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/internal/private"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/embedded"
	"github.com/pixelpost/pixelpost/storage/redisledger"
)

// OpenLedger opens the ledger the configuration selects: Redis Cluster,
// Redis, or the embedded store in DataDir. A Redis that can evict keys is
// refused (an evicted dedupe key is a double count, SPEC §2.11).
func OpenLedger(ctx context.Context, cfg Config, log zerolog.Logger) (storage.Ledger, error) {
	var rl *redisledger.Ledger
	var err error
	switch {
	case len(cfg.RedisCluster) > 0:
		rl, err = redisledger.OpenClusterNAT(cfg.RedisCluster, cfg.RedisClusterNAT)
	case cfg.RedisURL != "":
		rl, err = redisledger.OpenURL(cfg.RedisURL)
	default:
		if err := private.MkdirAll(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("cannot create data dir: %w", err)
		}
		path := filepath.Join(cfg.DataDir, "ledger.db")
		l, err := embedded.Open(path, embedded.Config{})
		if err != nil {
			return nil, fmt.Errorf("cannot open embedded ledger %s: %w", path, err)
		}
		log.Info().Str("path", path).Msg("embedded ledger")
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open redis ledger: %w", err)
	}
	redisledger.LogTo(log)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	warnings, err := rl.CheckConfig(cctx)
	switch {
	case redisledger.Unreachable(err):
		// A node restarted while Redis is down, or while a cluster fails
		// over, takes hits: they wait on disk, and nothing is applied
		// before the configuration is checked.
		rl.CheckLater()
		log.Warn().Err(err).Msg("redis cannot be reached: starting anyway; hits wait on disk, and redis's configuration is checked before the first is applied")
	case err != nil:
		rl.Close()
		return nil, fmt.Errorf("redis refused: %w", err)
	}
	for _, w := range warnings {
		log.Warn().Msg(w)
	}
	log.Info().Bool("cluster", len(cfg.RedisCluster) > 0).Msg("redis ledger")
	return rl, nil
}

// LoadAdminToken fills cfg.AdminToken when it is empty: from
// DataDir/admin-token, or a new random token written there (mode 0600). The
// token itself is never logged.
func LoadAdminToken(cfg *Config) (generated bool, err error) {
	if cfg.AdminToken != "" {
		return false, nil
	}
	path := cfg.AdminTokenFile()
	if b, err := os.ReadFile(path); err == nil {
		if tok := strings.TrimSpace(string(b)); len(tok) >= 16 {
			cfg.AdminToken = tok
			return false, nil
		}
	}
	if err := private.MkdirAll(cfg.DataDir); err != nil {
		return false, fmt.Errorf("cannot create data dir: %w", err)
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	if err := private.WriteFile(path, []byte(tok+"\n")); err != nil {
		return false, fmt.Errorf("cannot write admin token: %w", err)
	}
	cfg.AdminToken = tok
	return true, nil
}
