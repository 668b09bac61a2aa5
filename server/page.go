package server

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
)

// Pages of API lists: ?limit= asks for up to maxPageLimit items (default
// defaultPageLimit; more is cut to maxPageLimit), and an answer that may
// have more gives "next_cursor", to send back as ?cursor= for the next
// page. An empty next_cursor is the last page.
const (
	defaultPageLimit = 100
	maxPageLimit     = 1000
)

// pageLimit reads ?limit=; anything but a positive integer is a 400.
func pageLimit(c *fiber.Ctx) (int, error) {
	v := c.Query("limit")
	if v == "" {
		return defaultPageLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, errBadRequest("invalid_limit", "limit must be a positive integer (at most 1000 a page; follow next_cursor for more)")
	}
	return min(n, maxPageLimit), nil
}
