package server

import (
	"io/fs"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/web"
)

// dashboardCSP lets the dashboard load only its own script and style and
// call only this server: a value shown in it (a webinar name, a reason)
// can never run as code, and the page cannot be framed.
const dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

// dashboardFile is one embedded file, ready to send.
type dashboardFile struct {
	body        []byte
	contentType string
}

// loadDashboard reads the embedded dashboard once.
func loadDashboard() map[string]dashboardFile {
	files := map[string]dashboardFile{}
	_ = fs.WalkDir(web.Dashboard(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(web.Dashboard(), name)
		if err != nil {
			return err
		}
		files[name] = dashboardFile{b, mime.TypeByExtension(path.Ext(name))}
		return nil
	})
	return files
}

// serveDashboard answers /dashboard/ and its files. The page itself holds
// no data: it asks for the admin token and calls the API with it.
func (s *Server) serveDashboard(c *fiber.Ctx) error {
	if c.Path() == "/dashboard" {
		// The page's relative links need the trailing slash.
		return c.Redirect("/dashboard/", fiber.StatusMovedPermanently)
	}
	name := c.Params("*")
	if name == "" {
		name = "index.html"
	}
	f, ok := s.dashboard[name]
	if !ok {
		return errNotFound("no such dashboard file")
	}
	c.Set(fiber.HeaderContentType, f.contentType)
	c.Set(fiber.HeaderContentSecurityPolicy, dashboardCSP)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(f.body)
}
