package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/outbox"
)

// CRM webhooks (SPEC §3.2): per account, URLs that receive a JSON document
// for each lead and each conversion, signed, through the outbox.
//
// Signature: the headers X-Pixelpost-Timestamp (unix seconds) and
// X-Pixelpost-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." +
// body)>. A receiver recomputes it over the raw body, compares in constant
// time, and refuses timestamps older than a few minutes (replays).

const configWebhook = "webhook"

// Webhook event types.
const (
	eventLead       = "lead"
	eventConversion = "conversion"
)

type webhookDoc struct {
	URL    string   `json:"url"`
	Secret string   `json:"secret"`
	Events []string `json:"events"`
	// Enabled false: the webhook receives nothing (no delivery is made).
	Enabled *bool `json:"enabled,omitempty"`
}

func (s *Server) putWebhook(c *fiber.Ctx) error {
	var d webhookDoc
	if err := s.decodeConfig(c, configWebhook, &d); err != nil {
		return err
	}
	if err := outbox.CheckURL(d.URL, s.cfg.AllowPrivateTargets); err != nil {
		return errBadRequest("invalid_url", fmt.Sprintf("url: %v", err))
	}
	if len(d.Secret) < 16 || len(d.Secret) > 256 {
		return errBadRequest("invalid_secret", "secret must be 16 to 256 bytes: it signs every delivery")
	}
	if d.Events == nil {
		d.Events = []string{eventLead, eventConversion}
	}
	if len(d.Events) == 0 {
		return errBadRequest("invalid_events", `events is empty: leave it out for every event, or set "enabled": false to send nothing`)
	}
	d.Enabled = switchedOn(d.Enabled)
	for _, e := range d.Events {
		if e != eventLead && e != eventConversion {
			return errBadRequest("invalid_events", fmt.Sprintf("event %q is not lead or conversion", e))
		}
	}
	return s.putConfig(c, configWebhook, "webhook", d)
}

// webhookEvent is what a hit tells the CRM, or "" for nothing.
func webhookEvent(h *storage.Hit) string {
	if h.Status != storage.StatusAccepted && h.Status != storage.StatusUpdated {
		return ""
	}
	switch h.Kind {
	case storage.KindLead:
		return eventLead
	case storage.KindPixel, storage.KindManual, storage.KindPostback:
		return eventConversion
	}
	return ""
}

// webhookBody is the JSON a webhook receives.
type webhookBody struct {
	Event   string         `json:"event"`
	ID      string         `json:"id"` // the hit id: the same event delivered twice has the same id
	Account string         `json:"account"`
	Time    string         `json:"time"`
	Data    map[string]any `json:"data"`
}

// webhookDeliveries are the deliveries of one decided hit to the
// account's webhooks.
func (s *Server) webhookDeliveries(h *storage.Hit) []outbox.Delivery {
	event := webhookEvent(h)
	if event == "" {
		return nil
	}
	hooks, err := s.configs.all(h.Account, configWebhook, decodeAs[webhookDoc])
	if err != nil || len(hooks) == 0 {
		return nil
	}
	data := map[string]any{"kind": h.Kind, "status": h.Status}
	if h.Email != "" {
		data["email"] = h.Email
	}
	if event == eventLead {
		data["profile"] = h.Profile
	} else {
		data["order_id"], data["currency"] = h.OrderID, h.Currency
		data["amount"] = attribution.FormatAmount(h.Amount, h.Currency)
		data["delta"] = attribution.FormatAmount(h.Delta, h.Currency)
		data["webinars"] = h.WebinarIDs()
		if h.ClickID != "" {
			data["click_id"], data["campaign_id"], data["conversion_status"] = h.ClickID, h.CampaignID, h.ConvStatus
		}
	}
	body, err := json.Marshal(webhookBody{Event: event, ID: h.ID, Account: h.Account,
		Time: h.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Data: data})
	if err != nil {
		return nil
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	var out []outbox.Delivery
	for id, v := range hooks {
		hook := v.(*webhookDoc)
		if !enabled(hook.Enabled) || !slices.Contains(hook.Events, event) {
			continue
		}
		out = append(out, outbox.Delivery{
			Account: h.Account, Kind: outbox.KindWebhook, Key: id + "|" + h.ID, Method: "POST", URL: hook.URL,
			Headers: map[string]string{
				"Content-Type":          "application/json",
				"X-Pixelpost-Event":     event,
				"X-Pixelpost-Timestamp": ts,
				"X-Pixelpost-Signature": "sha256=" + sign(hook.Secret, ts, body),
			},
			Body: body,
		})
	}
	return out
}

// sign is the webhook signature: hex HMAC-SHA256 over timestamp "." body.
func sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
