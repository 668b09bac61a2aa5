package server

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// recoverPanics turns a panic in a handler into an answer instead of a dead
// process: the GIF on tracking endpoints (a browser cannot act on an error),
// a JSON 500 elsewhere. Only the route and the stack are logged, never the
// request, which may hold an email.
func (s *Server) recoverPanics(c *fiber.Ctx) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		s.metrics.panics.Inc()
		s.log.Error().Str("route", c.Route().Path).Str("panic", fmt.Sprint(r)).
			Bytes("stack", debug.Stack()).Msg("handler panicked")
		if strings.HasPrefix(c.Path(), "/v1/") && strings.Contains(c.Path(), "/pixel/") {
			writeGIF(c)
			err = nil
			return
		}
		err = &apiError{fiber.StatusInternalServerError, "internal", "internal error"}
	}()
	return c.Next()
}
