package server

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// healthz says the process serves requests.
func (s *Server) healthz(c *fiber.Ctx) error {
	return c.SendString("ok")
}

// readyz says whether this node can take traffic: its ledger answers.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	checks := fiber.Map{"ledger": "ok"}
	status := fiber.StatusOK
	if err := s.ledger.Ping(ctx); err != nil {
		checks["ledger"] = err.Error()
		status = fiber.StatusServiceUnavailable
	}
	return c.Status(status).JSON(fiber.Map{"ready": status == fiber.StatusOK, "checks": checks})
}
