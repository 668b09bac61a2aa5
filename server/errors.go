package server

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// apiError is an error with its HTTP status and a machine-readable code,
// answered as {"error": code, "message": message}.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errBadRequest(code, msg string) error { return &apiError{http.StatusBadRequest, code, msg} }
func errNotFound(msg string) error         { return &apiError{http.StatusNotFound, "not_found", msg} }

// statusOf maps any error to its HTTP status and code, in one place: bad
// input 400, auth 401, unknown 404, infrastructure 503, the rest 500.
func statusOf(err error) (int, string, string) {
	var ae *apiError
	var rej *attribution.Rejection
	var fe *fiber.Error
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.code, ae.message
	case errors.As(err, &rej):
		return http.StatusBadRequest, rej.Reason, rej.Error()
	case errors.Is(err, storage.ErrNotFound):
		return http.StatusNotFound, "not_found", err.Error()
	case errors.Is(err, storage.ErrUnavailable):
		return http.StatusServiceUnavailable, "unavailable", "the ledger is unavailable, retry later"
	case errors.Is(err, wal.ErrFull), errors.Is(err, wal.ErrClosed):
		return http.StatusServiceUnavailable, "unavailable", "hits cannot be recorded now, retry later"
	case errors.As(err, &fe):
		return fe.Code, "http_error", fe.Message
	default:
		return http.StatusInternalServerError, "internal", "internal error"
	}
}

// errorHandler answers API errors as JSON. Tracking endpoints never get here:
// they answer the GIF whatever happens.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	status, code, msg := statusOf(err)
	if status >= 500 {
		s.log.Error().Err(err).Str("path", c.Route().Path).Msg("request failed")
	}
	return c.Status(status).JSON(fiber.Map{"error": code, "message": msg})
}
