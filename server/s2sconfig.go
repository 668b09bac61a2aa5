package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/outbox"
)

// S2S configuration (SPEC §8): traffic sources receive outbound postbacks,
// affiliate networks send inbound ones, campaigns tie a click link to an
// offer, a source and a network. Each is a JSON document in the ledger
// (PutConfig), validated and normalised here.

// sourceDoc is a traffic source.
type sourceDoc struct {
	// PostbackURL is the template of the outbound postback (SPEC §3.1).
	PostbackURL string `json:"postback_url"`
	// CorrectionURL, if set, is sent when a conversion already announced
	// changes (declined, chargeback, new payout).
	CorrectionURL string `json:"correction_url,omitempty"`
	// Statuses are the canonical statuses announced (default: approved).
	Statuses []string `json:"statuses,omitempty"`
	// Enabled false: the source is told nothing (no delivery is made).
	Enabled *bool `json:"enabled,omitempty"`
	// Template names the kind of source (attribution.LookupSourceTemplate,
	// "" for none) and LinkQuery the query of its campaigns' links, the
	// source's macros (default: the template's): campaign answers show
	// the link ready to paste into the source.
	Template  string `json:"template,omitempty"`
	LinkQuery string `json:"link_query,omitempty"`
}

// networkDoc is an affiliate network.
type networkDoc struct {
	Preset   string                 `json:"preset"`
	Params   attribution.ParamNames `json:"params"`
	Secret   string                 `json:"secret,omitempty"`
	AllowIPs []string               `json:"allow_ips,omitempty"`
	// Enabled false: its postbacks are refused, 403 network_disabled
	// (recorded rejected), and change nothing.
	Enabled *bool `json:"enabled,omitempty"`
}

// campaignBody is a campaign as the API takes it.
type campaignBody struct {
	SourceID   string              `json:"source_id"`
	NetworkID  string              `json:"network_id"`
	OfferURL   string              `json:"offer_url"`
	WindowDays int                 `json:"attribution_window_days"`
	Goals      map[string]goalBody `json:"goals,omitempty"`
	CPC        string              `json:"cpc,omitempty"`
	Payout     string              `json:"payout,omitempty"` // the offer's fixed payout, overriding postbacks
	// PixelConversions: the conversion pixel (cid, pp_cid) may convert the
	// campaign's clicks; stored with its effective value
	// (storage.DefaultPixelConversions when not given).
	PixelConversions *bool `json:"pixel_conversions,omitempty"`
	// Enabled false: the link answers its 404 page and records no click
	// (campaign_disabled); clicks made before still convert.
	Enabled *bool `json:"enabled,omitempty"`
}

type goalBody struct {
	Type  string `json:"type"`
	Value string `json:"value,omitempty"`
}

// campaignDoc is a campaign as stored: the body and what the click path
// needs precomputed, in the account's currency.
type campaignDoc struct {
	campaignBody
	Currency  string            `json:"currency"`
	CPCMicros int64             `json:"cpc_micros"`
	Valuation storage.Valuation `json:"valuation"`
}

// pixelConversions is whether the conversion pixel may convert the
// campaign's clicks (a document of an earlier build does not say).
func (d *campaignDoc) pixelConversions() bool {
	if d.PixelConversions == nil {
		return storage.DefaultPixelConversions(d.NetworkID)
	}
	return *d.PixelConversions
}

const (
	defaultWindowDays = 30
	maxWindowDays     = 365
	maxGoals          = 50
	maxTemplateBytes  = 2048
)

func (s *Server) putSource(c *fiber.Ctx) error {
	var d sourceDoc
	if err := decodeJSON(c, &d); err != nil {
		return err
	}
	if err := s.checkTemplate("postback_url", d.PostbackURL, true); err != nil {
		return err
	}
	if err := s.checkTemplate("correction_url", d.CorrectionURL, false); err != nil {
		return err
	}
	if d.Statuses == nil {
		d.Statuses = []string{string(attribution.StatusApproved)}
	}
	if len(d.Statuses) == 0 {
		return errBadRequest("invalid_statuses", `statuses is empty: leave it out for ["approved"], or set "enabled": false to send nothing`)
	}
	d.Enabled = switchedOn(d.Enabled)
	if d.Template != "" {
		t, ok := attribution.LookupSourceTemplate(d.Template)
		if !ok {
			return errBadRequest("invalid_template", fmt.Sprintf("template %q is not one of %s", d.Template, strings.Join(attribution.SourceTemplateNames(), ", ")))
		}
		d.Template = t.Name
		if d.LinkQuery == "" {
			d.LinkQuery = t.LinkQuery
		}
	}
	d.LinkQuery = strings.TrimPrefix(d.LinkQuery, "?")
	if err := attribution.CheckLinkQuery(d.LinkQuery); err != nil {
		return errBadRequest("invalid_link_query", "link_query: "+err.Error())
	}
	for _, st := range d.Statuses {
		if !attribution.ConvStatus(st).Valid() {
			return errBadRequest("invalid_status", fmt.Sprintf("status %q is not pending, approved, declined or chargeback", st))
		}
	}
	return s.putConfig(c, storage.ConfigSource, "source", d)
}

// checkTemplate validates an outbound URL template: it renders to an
// http(s) URL whose destination the SSRF guard allows.
func (s *Server) checkTemplate(field, tmpl string, required bool) error {
	if tmpl == "" {
		if required {
			return errBadRequest("invalid_"+field, field+" is required")
		}
		return nil
	}
	if len(tmpl) > maxTemplateBytes {
		return errBadRequest("invalid_"+field, fmt.Sprintf("%s is longer than %d bytes", field, maxTemplateBytes))
	}
	url, _, err := attribution.RenderTemplate(tmpl, func(string) (string, bool) { return "x", true })
	if err == nil {
		err = outbox.CheckURL(url, s.cfg.AllowPrivateTargets)
	}
	if err != nil {
		return errBadRequest("invalid_"+field, fmt.Sprintf("%s: %v", field, err))
	}
	return nil
}

func (s *Server) putNetwork(c *fiber.Ctx) error {
	var in struct {
		networkDoc
		PostbackURL string `json:"postback_url"` // what GET answers besides: derived, ignored
	}
	if err := s.decodeConfig(c, storage.ConfigNetwork, &in); err != nil {
		return err
	}
	d := in.networkDoc
	if d.Preset == "" {
		d.Preset = "generic"
	}
	if _, ok := attribution.LookupPreset(d.Preset); !ok {
		return errBadRequest("invalid_preset", fmt.Sprintf("preset %q is not one of %s", d.Preset, strings.Join(attribution.PresetNames(), ", ")))
	}
	for _, cidr := range d.AllowIPs {
		if _, err := parseAllow(cidr); err != nil {
			return errBadRequest("invalid_allow_ips", err.Error())
		}
	}
	if len(d.Secret) > 256 {
		return errBadRequest("invalid_secret", "secret is longer than 256 bytes")
	}
	d.Enabled = switchedOn(d.Enabled)
	return s.putConfig(c, storage.ConfigNetwork, "network", d)
}

// parseAllow reads an allow-list entry: a CIDR or a single address.
func parseAllow(s string) (*net.IPNet, error) {
	if ip := net.ParseIP(s); ip != nil {
		bits := 32
		if ip.To4() == nil {
			bits = 128
		}
		return &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}, nil
	}
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		return nil, fmt.Errorf("allow_ips: %q is neither an IP nor a CIDR", s)
	}
	return n, nil
}

func (s *Server) putCampaign(c *fiber.Ctx) error {
	var in struct {
		campaignBody
		// What GET answers besides: accepted so that a GET's answer can be
		// sent back, and computed again.
		Currency  string          `json:"currency"`
		CPCMicros int64           `json:"cpc_micros"`
		Valuation json.RawMessage `json:"valuation"`
		Link      string          `json:"link"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	b := in.campaignBody
	acct := account(c)
	d := campaignDoc{campaignBody: b, Currency: acct.DefaultCurrency}
	d.Enabled = switchedOn(d.Enabled)
	if d.PixelConversions == nil {
		px := storage.DefaultPixelConversions(d.NetworkID)
		d.PixelConversions = &px
	}
	if b.OfferURL == "" {
		return errBadRequest("invalid_offer_url", "offer_url is required")
	}
	if _, err := attribution.TemplateHost(b.OfferURL); errors.Is(err, attribution.ErrTokenInHost) {
		return errBadRequest("token_in_host", "offer_url: "+err.Error())
	}
	if _, _, err := attribution.RenderTemplate(b.OfferURL, func(string) (string, bool) { return "x", true }); err != nil || len(b.OfferURL) > maxTemplateBytes {
		return errBadRequest("invalid_offer_url", fmt.Sprintf("offer_url must be an http(s) URL template: %v", err))
	}
	for _, ref := range []struct{ kind, id, field string }{
		{storage.ConfigSource, b.SourceID, "source_id"}, {storage.ConfigNetwork, b.NetworkID, "network_id"},
	} {
		if ref.id == "" {
			continue
		}
		if _, err := s.ledger.Config(c.UserContext(), acct.ID, ref.kind, ref.id); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return errBadRequest("invalid_"+ref.field, fmt.Sprintf("%s %q does not exist: create it first", ref.kind, ref.id))
			}
			return err
		}
	}
	switch {
	case d.WindowDays == 0:
		d.WindowDays = defaultWindowDays
	case d.WindowDays < 0 || d.WindowDays > maxWindowDays:
		return errBadRequest("invalid_attribution_window_days", fmt.Sprintf("attribution_window_days is not within 1..%d", maxWindowDays))
	}
	money := func(field, v string) (int64, error) {
		m, err := attribution.ParseRate(v, d.Currency)
		if err != nil {
			return 0, errBadRequest("invalid_"+field, fmt.Sprintf("%s %q: %v", field, v, err))
		}
		return int64(m), nil
	}
	var err error
	if b.CPC != "" {
		if d.CPCMicros, err = money("cpc", b.CPC); err != nil {
			return err
		}
	}
	if b.Payout != "" {
		p, err := money("payout", b.Payout)
		if err != nil {
			return err
		}
		d.Valuation.Payout = strconv.FormatInt(p, 10)
	}
	if len(b.Goals) > maxGoals {
		return errBadRequest("too_many_goals", fmt.Sprintf("a campaign has at most %d goals", maxGoals))
	}
	for id, g := range b.Goals {
		if !attribution.ValidID(id) {
			return errBadRequest("invalid_goal", fmt.Sprintf("goal id %q: 1-64 characters of A-Z a-z 0-9 _ . : -", id))
		}
		t, ok := attribution.ParseGoalType(g.Type)
		if !ok {
			return errBadRequest("invalid_goal", fmt.Sprintf("goal %q: type %q is not none, fixed or dynamic", id, g.Type))
		}
		gd := storage.GoalDoc{Type: string(t)}
		if t == attribution.GoalFixed {
			v, err := money("goal", g.Value)
			if err != nil {
				return err
			}
			gd.Value = strconv.FormatInt(v, 10)
		}
		if d.Valuation.Goals == nil {
			d.Valuation.Goals = map[string]storage.GoalDoc{}
		}
		d.Valuation.Goals[id] = gd
	}
	return s.putConfig(c, storage.ConfigCampaign, "campaign", d)
}

// putConfig stores a validated document under the path's id and answers
// it back.
func (s *Server) putConfig(c *fiber.Ctx, kind, what string, doc any) error {
	id, err := validIDParam(c, "id", what)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	acct := account(c).ID
	if err := s.ledger.PutConfig(c.UserContext(), acct, kind, id, raw); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return &apiError{fiber.StatusConflict, what + "_id_taken", fmt.Sprintf("%s id %q is used by another account: choose another", what, id)}
		}
		return err
	}
	s.configs.forget(acct, kind, id)
	return s.sendConfig(c, kind, raw)
}

// sendConfig answers a stored document (configAnswer).
func (s *Server) sendConfig(c *fiber.Ctx, kind string, raw []byte) error {
	out, err := s.configAnswer(c, kind, c.Params("id"), raw)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(out)
}

// internalFields are, per kind, the stored fields computed for the hot
// paths (in micro-units, or precomputed): answers leave them out.
var internalFields = map[string][]string{
	storage.ConfigCampaign: {"cpc_micros", "valuation"},
}

// configAnswer is a stored document as every answer shows it: secrets
// masked, internal fields left out, for a network the postback URL to give
// it (networkPostbackURL) and for a campaign its link (campaignLink).
func (s *Server) configAnswer(c *fiber.Ctx, kind, id string, raw []byte) ([]byte, error) {
	out, err := maskSecrets(kind, raw)
	if err != nil || (len(internalFields[kind]) == 0 && kind != storage.ConfigNetwork) {
		return out, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, fmt.Errorf("cannot decode stored %s %q: %w", kind, id, err)
	}
	for _, f := range internalFields[kind] {
		delete(doc, f)
	}
	if _, ok := doc["pixel_conversions"]; kind == storage.ConfigCampaign && !ok {
		// Saved by an earlier build: show the default its clicks get.
		var d struct {
			NetworkID string `json:"network_id"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("cannot decode stored campaign %q: %w", id, err)
		}
		doc["pixel_conversions"] = json.RawMessage(strconv.FormatBool(storage.DefaultPixelConversions(d.NetworkID)))
	}
	if kind == storage.ConfigCampaign {
		link, err := s.campaignLink(c, id, raw)
		if err != nil {
			return nil, err
		}
		doc["link"] = mustJSON(link)
	}
	if kind == storage.ConfigNetwork {
		var d networkDoc
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("cannot decode stored network %q: %w", id, err)
		}
		doc["postback_url"] = mustJSON(networkPostbackURL(c, id, d))
	}
	return json.Marshal(doc)
}

// networkPostbackURL is the URL to paste into a network: this server's
// postback path for the network, with the preset's parameter names (and
// the network's overrides) and the sending system's macros. The secret is
// never shown: its placeholder stands in for it.
func networkPostbackURL(c *fiber.Ctx, id string, d networkDoc) string {
	p, ok := attribution.LookupPreset(d.Preset)
	if !ok {
		return ""
	}
	p = p.WithOverrides(d.Params)
	return c.BaseURL() + "/v1/postback/" + url.PathEscape(account(c).ID) + "/" + url.PathEscape(id) +
		"?" + p.PostbackQuery(d.Secret != "")
}

// campaignLink is the link to paste into the campaign's traffic source:
// this server's /c/{id} with the source's link query (its macros), or
// bare when the campaign has no source or the source no link query.
func (s *Server) campaignLink(c *fiber.Ctx, id string, raw []byte) (string, error) {
	link := c.BaseURL() + "/c/" + url.PathEscape(id)
	var d campaignBody
	if err := json.Unmarshal(raw, &d); err != nil {
		return "", fmt.Errorf("cannot decode stored campaign %q: %w", id, err)
	}
	if d.SourceID == "" {
		return link, nil
	}
	doc, err := s.ledger.Config(c.UserContext(), account(c).ID, storage.ConfigSource, d.SourceID)
	if errors.Is(err, storage.ErrNotFound) {
		return link, nil // deleted since: the link still works, without macros
	}
	if err != nil {
		return "", err
	}
	var src sourceDoc
	if err := json.Unmarshal(doc, &src); err != nil {
		return "", fmt.Errorf("cannot decode stored source %q: %w", d.SourceID, err)
	}
	if src.LinkQuery != "" {
		link += "?" + src.LinkQuery
	}
	return link, nil
}

// getConfig answers one document.
func (s *Server) getConfig(kind string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		raw, err := s.ledger.Config(c.UserContext(), account(c).ID, kind, c.Params("id"))
		if err != nil {
			return err
		}
		return s.sendConfig(c, kind, raw)
	}
}

// listConfigs answers every document of a kind, by id.
func (s *Server) listConfigs(kind string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		all, err := s.ledger.Configs(c.UserContext(), account(c).ID, kind)
		if err != nil {
			return err
		}
		out := make(map[string]json.RawMessage, len(all)) // encoding/json sorts the ids
		for id, raw := range all {
			if out[id], err = s.configAnswer(c, kind, id, raw); err != nil {
				return err
			}
		}
		return c.JSON(out)
	}
}
