package server

import (
	"crypto/rand"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

const (
	clickCookie = "pp_cid"
	// Limits on what a click keeps of its query (SPEC §6 allows 50
	// parameters on tracking endpoints).
	maxMacros     = 50
	maxMacroBytes = 256
	// reasonCampaignDisabled: a click on a campaign switched off.
	reasonCampaignDisabled = "campaign_disabled"
)

// click records a click on a campaign link and redirects to the campaign's
// offer (SPEC §1.3). The redirect only ever goes to the offer URL
// configured for the campaign: an unknown campaign is a 404 page, never a
// redirect built from the request. HEAD requests, prefetches and link
// previews (prefetch.go) are redirected like a visitor but are no click:
// nothing is stored, no cookie set, no cost counted; the redirect carries
// a click id that names no click.
func (s *Server) click(c *fiber.Ctx) error {
	ignored := s.ignored(c, storage.KindClick)
	h := s.newHit(c, storage.KindClick)
	h.CampaignID = capped(c.Params("campaign"), maxRecordedAcct)
	acct, err := s.configs.owner(storage.ConfigCampaign, h.CampaignID)
	var camp *campaignDoc
	if err == nil {
		h.Account = acct
		camp, err = s.configs.campaign(acct, h.CampaignID)
	}
	if err != nil {
		h.Account = ""
		h.Status, h.Reason = storage.StatusRejected, "unknown_campaign"
		status, page := fiber.StatusNotFound, unknownCampaignPage
		if !errors.Is(err, storage.ErrNotFound) {
			// The campaign cannot be looked up right now: say so, so that
			// the visitor (or the traffic source's checker) tries again.
			h.Reason, status, page = "ledger_unavailable", fiber.StatusServiceUnavailable, unavailablePage
		}
		if !ignored {
			s.record(&h)
		}
		c.Set(fiber.HeaderCacheControl, noStore)
		return c.Status(status).Type("html").SendString(page)
	}
	if !enabled(camp.Enabled) {
		// Paused: a visitor gets the page of a link no longer active, and
		// the account's refused hits say why.
		h.Status, h.Reason = storage.StatusRejected, reasonCampaignDisabled
		if !ignored {
			s.record(&h)
		}
		c.Set(fiber.HeaderCacheControl, noStore)
		return c.Status(fiber.StatusNotFound).Type("html").SendString(unknownCampaignPage)
	}

	var random [10]byte
	_, _ = rand.Read(random[:]) // never fails (Go ≥ 1.24)
	h.ClickID = attribution.NewClickID(h.Time, random)
	h.SourceID, h.NetworkID = camp.SourceID, camp.NetworkID
	px := camp.pixelConversions()
	h.PixelConversions = &px // with NetworkID: who may convert the click (storage.ClickAccess)
	h.ClickTTL = time.Duration(camp.WindowDays) * 24 * time.Hour
	h.Currency = camp.Currency
	h.Valuation = &camp.Valuation
	h.Macros = queryMacros(c)
	if !ignored {
		h.Cost = attribution.Micros(camp.CPCMicros)
		if v, ok := h.Macros["cost"]; ok {
			if cost, err := attribution.ParseRate(v, camp.Currency); err == nil {
				h.Cost = cost
			} else {
				h.Reason = "bad_cost" // kept; the click still counts, at the campaign's CPC
			}
		}
		s.record(&h)
		s.setCookie(c, clickCookie, h.ClickID, int(h.ClickTTL/time.Second))
	}
	target, err := attribution.RenderRedirect(camp.OfferURL, func(name string) (string, bool) {
		if name == "clickid" {
			return h.ClickID, true
		}
		v, ok := h.Macros[name]
		return v, ok
	})
	if err != nil {
		// The template was checked when the campaign was saved; a value
		// that makes it too long lands here, and so does a template saved
		// with a token in its host before that was refused.
		return &apiError{fiber.StatusBadGateway, "bad_offer_url", "the campaign's offer URL cannot be built: " + err.Error()}
	}
	c.Set(fiber.HeaderCacheControl, noStore)
	return c.Redirect(target, fiber.StatusFound)
}

// queryMacros copies every query parameter of a click (the traffic
// source's macros), bounded in number and size.
func queryMacros(c *fiber.Ctx) map[string]string {
	m := map[string]string{}
	c.Request().URI().QueryArgs().VisitAll(func(k, v []byte) {
		if len(m) >= maxMacros || len(k) == 0 || len(k) > 64 {
			return
		}
		if _, dup := m[string(k)]; dup {
			return
		}
		if len(v) > maxMacroBytes {
			v = v[:maxMacroBytes]
		}
		if attribution.IsPlaceholder(string(v)) {
			v = nil // an unsubstituted {zoneid} is no zone
		}
		m[string(k)] = string(v)
	})
	return m
}

const (
	unknownCampaignPage = `<!doctype html><meta charset="utf-8"><title>Unknown link</title>
<p>This link is not, or no longer, active.</p>`
	unavailablePage = `<!doctype html><meta charset="utf-8"><title>Try again</title>
<p>This link cannot be followed right now. Please try again in a moment.</p>`
)
