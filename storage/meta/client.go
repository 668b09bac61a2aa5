package meta

import (
	"net/http"

	"github.com/pixelpost/pixelpost/storage/outbox"
)

// userAgent identifies pixelpost to the Graph API.
const userAgent = "pixelpost-meta/1"

// newClient builds the forwarder's HTTP client: outbox's, with its SSRF
// guard on the address actually dialled.
func newClient(cfg Config) (*http.Transport, *http.Client) {
	return outbox.NewGuardedClient(cfg.Timeout, cfg.AllowPrivateTargets, cfg.Workers)
}
