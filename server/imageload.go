package server

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// browserImageLoad reports a browser loading an <img>: Sec-Fetch-Dest:
// image, or, from a browser that does not send Sec-Fetch-Dest, an Accept
// header whose preferred media range is an image type (image/webp,
// image/*, ...; a navigation prefers text/html, a backend sends */* or
// nothing). Such a sender never retries, so its hit is answered once
// written to the hits log, not once fsynced: the one place that decides
// it (see recordPixel).
func browserImageLoad(h *fasthttp.RequestHeader) bool {
	if dest := h.Peek("Sec-Fetch-Dest"); len(dest) > 0 {
		return bytes.EqualFold(bytes.TrimSpace(dest), []byte("image"))
	}
	accept := h.Peek(fasthttp.HeaderAccept)
	first, _, _ := bytes.Cut(accept, []byte(","))
	mediaType, _, _ := bytes.Cut(first, []byte(";"))
	mediaType = bytes.TrimSpace(mediaType)
	const image = "image/"
	return len(mediaType) > len(image) && bytes.EqualFold(mediaType[:len(image)], []byte(image))
}
