package server

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/internal/private"
)

// openDataDir creates the data dir, private to pixelpost's user, or makes
// an existing one private when others could read it (an older version, a
// hand-made directory), and says so: it holds emails, order ids and the
// admin token.
func openDataDir(dir string, log zerolog.Logger) error {
	if err := private.MkdirAll(dir); err != nil {
		return fmt.Errorf("cannot create data dir: %w", err)
	}
	was, changed, err := private.Tighten(dir)
	if err != nil {
		return err
	}
	if changed {
		log.Warn().Str("dir", dir).Str("was", was.String()).Str("now", (was &^ 0o077).String()).
			Msg("data dir was open to other users: made private")
	}
	return nil
}
