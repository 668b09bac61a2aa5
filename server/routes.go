package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/storage"
)

// Request limits (SPEC §6). The read buffer bounds request line plus
// headers; tracking endpoints take at most 64 KiB of body.
const (
	readBufferSize = 8 << 10
	bodyLimit      = 64 << 10
)

// newApp is the one place that lists endpoints and middleware.
func (s *Server) newApp() *fiber.App {
	// Trusted proxies' X-Forwarded-Proto is believed (Secure cookies); the
	// client address is s.clientAddr, not Fiber's c.IP() with ProxyHeader
	// (which takes the leftmost X-Forwarded-For address, the client's own).
	app := fiber.New(fiber.Config{
		DisableStartupMessage:   true,
		ReadBufferSize:          readBufferSize,
		BodyLimit:               bodyLimit,
		ReadTimeout:             s.cfg.ReadTimeout,
		WriteTimeout:            s.cfg.ReadTimeout,
		IdleTimeout:             60 * s.cfg.ReadTimeout,
		EnableTrustedProxyCheck: len(s.cfg.TrustedProxies) > 0,
		TrustedProxies:          s.cfg.TrustedProxies,
		ErrorHandler:            s.errorHandler,
	})

	app.Use(s.recoverPanics)
	app.Use(refuseAmbiguousLength)

	// Tracking endpoints: public, always answer, never reveal data.
	app.Get("/v1/conversion/pixel.js", s.pixelScript)
	// Each behind the per-address rate limit (ratelimit.go).
	app.Get("/v1/conversion/pixel/:acct", s.limited(storage.KindPixel), s.conversionPixel) // GET also serves HEAD
	app.Get("/v1/attendee/pixel/:acct", s.limited(storage.KindRegistration), s.registrationPixel)
	app.Get("/c/:campaign", s.limited(storage.KindClick), s.click)
	app.Get("/v1/leads/:endpoint", s.limited(storage.KindLead), s.lead)
	app.Post("/v1/leads/:endpoint", s.limited(storage.KindLead), s.lead)
	app.Post("/v1/crm/:source/events", s.limited(storage.KindCRM), s.crmEvents)
	for _, path := range []string{"/v1/postback/:acct", "/v1/postback/:acct/:network"} {
		app.Get(path, s.limited(storage.KindPostback), s.postback)
		app.Post(path, s.limited(storage.KindPostback), s.postback)
	}

	app.Get("/dashboard/*", s.serveDashboard)

	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", s.metricsHandler)

	api := app.Group("/api/v1", s.authenticate, withTimeout)
	api.Get("/hits/rejected", s.adminOnly, s.unknownRejections)
	api.Post("/flush", s.adminOnly, s.flushHits)
	api.Put("/accounts/:acct", s.adminOnly, s.putAccount)
	api.Get("/accounts/:acct", s.requireAccount, s.getAccount)
	acct := api.Group("/accounts/:acct", s.requireAccount)
	acct.Post("/api-keys", s.adminOnly, s.createAPIKey)
	acct.Get("/api-keys", s.adminOnly, s.listAPIKeys)
	acct.Delete("/api-keys/:id", s.adminOnly, s.deleteAPIKey)
	acct.Put("/webinars/:webinar", s.putWebinar)
	acct.Delete("/webinars/:webinar", s.deleteWebinar)
	acct.Get("/webinars", s.listWebinars)
	acct.Get("/webinars/:webinar/stats", s.webinarStats)
	acct.Post("/webinars/:webinar/registrants", s.importRegistrants)
	acct.Get("/attendees", s.listAttendees)
	acct.Get("/attendees/:email", s.getAttendee)
	acct.Delete("/attendees/:email", s.eraseAttendee)
	acct.Post("/attendees/:email/conversions", s.manualConversion)
	acct.Get("/registrants.csv", s.registrantsCSV)
	acct.Get("/hits/rejected", s.recentRejections)
	acct.Get("/reports/webinars/:webinar/series", s.webinarSeries)
	acct.Get("/reports/hits", s.hitsByStatus)
	acct.Get("/reports/campaigns", s.campaignReport)
	acct.Get("/logs/clicks", s.clickLog)
	acct.Get("/logs/conversions", s.conversionLog)
	acct.Get("/logs/leads", s.leadLog)
	acct.Get("/logs/purchases", s.purchaseLog)
	for _, cfg := range []struct {
		path, kind, what string
		put              fiber.Handler
	}{
		{"/sources", storage.ConfigSource, "source", s.putSource},
		{"/networks", storage.ConfigNetwork, "network", s.putNetwork},
		{"/campaigns", storage.ConfigCampaign, "campaign", s.putCampaign},
		{"/webhooks", configWebhook, "webhook", s.putWebhook},
		{"/lead-endpoints", storage.ConfigLeadEndpoint, "lead endpoint", s.putLeadEndpoint},
		{"/crm-sources", storage.ConfigCRMSource, "CRM source", s.putCRMSource},
	} {
		acct.Put(cfg.path+"/:id", cfg.put)
		acct.Get(cfg.path+"/:id", s.getConfig(cfg.kind))
		acct.Get(cfg.path, s.listConfigs(cfg.kind))
		acct.Delete(cfg.path+"/:id", s.deleteConfig(cfg.kind, cfg.what))
	}
	acct.Post("/campaigns/:id/test-postback", s.testPostback)
	acct.Get("/templates", s.templates)
	acct.Put("/meta-datasets/:id", s.putMetaDataset)
	acct.Get("/meta-datasets/:id", s.getMetaDataset)
	acct.Get("/meta-datasets", s.listMetaDatasets)
	acct.Delete("/meta-datasets/:id", s.deleteMetaDataset)
	acct.Get("/meta-datasets/:id/diagnostics", s.metaDiagnostics)
	acct.Get("/meta-datasets/:id/events", s.metaEvents)
	acct.Post("/audiences/exports", s.createExport)
	acct.Get("/audiences/exports", s.listExports)
	acct.Get("/audiences/exports/:file", s.exportFile) // {id}.csv
	acct.Delete("/audiences/exports/:id", s.deleteExport)
	acct.Get("/deliveries", s.listDeliveries)
	acct.Get("/deliveries/:id", s.getDelivery)
	acct.Post("/deliveries/:id/retry", s.retryDelivery)

	app.Use(func(c *fiber.Ctx) error { return errNotFound("no such endpoint") })
	return app
}
