// Package web holds pixelpost's browser-facing files, embedded in the
// binary: no build step, nothing to deploy beside it.
package web

import _ "embed"

// PixelJS fires the conversion pixel from a thank-you page whose builder
// cannot substitute placeholders (SPEC §1.1).
//
//go:embed static/pixel.js
var PixelJS []byte
