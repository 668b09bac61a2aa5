package server

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// Link-preview bots fetch a shared URL (a thank-you page's images, a
// campaign link) to draw its preview; counting them would invent
// conversions and clicks. This is the one list of them.
var previewAgents = [][]byte{
	[]byte("facebookexternalhit"), []byte("Facebot"), []byte("Twitterbot"),
	[]byte("Slackbot"), []byte("LinkedInBot"), []byte("WhatsApp"),
	[]byte("TelegramBot"), []byte("Discordbot"), []byte("SkypeUriPreview"),
	[]byte("Googlebot"), []byte("bingbot"), []byte("Applebot"),
}

// isPrefetch reports a browser prefetch/prerender or a link-preview fetch.
func isPrefetch(h *fasthttp.RequestHeader) bool {
	for _, name := range [...]string{"Purpose", "Sec-Purpose", "X-Purpose", "X-Moz"} {
		v := h.Peek(name)
		if bytes.Contains(v, []byte("prefetch")) || bytes.Contains(v, []byte("preview")) || bytes.Contains(v, []byte("prerender")) {
			return true
		}
	}
	ua := h.UserAgent()
	for _, a := range previewAgents {
		if bytes.Contains(ua, a) {
			return true
		}
	}
	return false
}
