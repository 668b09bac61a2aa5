// Package web holds pixelpost's browser-facing files, embedded in the
// binary: no build step, nothing to deploy beside it.
package web

import (
	"embed"
	"io/fs"
)

// PixelJS fires the conversion pixel from a thank-you page whose builder
// cannot substitute placeholders (SPEC §1.1).
//
//go:embed static/pixel.js
var PixelJS []byte

//go:embed static/dashboard
var dashboard embed.FS

// Dashboard is the dashboard's files (index.html, app.js, app.css): a page
// that calls the admin API with the token the user types in.
func Dashboard() fs.FS {
	sub, err := fs.Sub(dashboard, "static/dashboard")
	if err != nil {
		panic(err) // the directory is embedded above: cannot happen
	}
	return sub
}
