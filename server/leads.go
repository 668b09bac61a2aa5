package server

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// leadEndpointDoc is a lead-generation card's endpoint (SPEC §1.5, §8).
type leadEndpointDoc struct {
	Salt                string                 `json:"salt,omitempty"`
	Fields              attribution.LeadFields `json:"fields"`
	TokenIncludesHidden bool                   `json:"token_includes_hidden"`
	// Enabled false: its leads are refused, 403 endpoint_disabled
	// (recorded rejected), and reach neither the ledger nor the webhooks.
	Enabled *bool `json:"enabled,omitempty"`
}

// reasonEndpointDisabled: a lead to an endpoint switched off.
const reasonEndpointDisabled = "endpoint_disabled"

func (s *Server) putLeadEndpoint(c *fiber.Ctx) error {
	var d leadEndpointDoc
	if err := s.decodeConfig(c, storage.ConfigLeadEndpoint, &d); err != nil {
		return err
	}
	d.Fields = d.Fields.WithDefaults()
	if err := d.Fields.Validate(); err != nil {
		return errBadRequest("invalid_fields", err.Error())
	}
	if len(d.Salt) > 256 {
		return errBadRequest("invalid_salt", "salt is longer than 256 bytes")
	}
	d.Enabled = switchedOn(d.Enabled)
	return s.putConfig(c, storage.ConfigLeadEndpoint, "lead_endpoint", d)
}

// lead takes a submission of a lead-generation card (SPEC §1.5): GET, POST
// form or POST JSON. The token is checked (constant time) before anything
// else is said about the submission. Success is 200 as soon as the lead is
// durable; the ledger upserts the attendee's profile behind it, and the
// account's CRM webhooks get the lead. A submission to an endpoint this
// node cannot read now (the ledger is unreachable and it never read it)
// is kept with its request and checked when it can: 202 queued. One that
// cannot be recorded is 503: the card tries again.
func (s *Server) lead(c *fiber.Ctx) error {
	r := s.requestOf(c)
	r.endpoint = capped(c.Params("endpoint"), maxRecordedAcct)
	h := s.newHit(c, storage.KindLead)
	status, err := s.takeLead(&r, &h)
	if err != nil {
		h.Deferred = r.deferred()
	}
	if err := s.record(&h); err != nil {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"error": "unavailable"})
	}
	switch {
	case h.Deferred != nil:
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"status": "queued", "id": h.ID})
	case h.Status == storage.StatusRejected:
		return c.Status(status).JSON(fiber.Map{"error": h.Reason})
	}
	return c.JSON(fiber.Map{"status": "ok", "id": h.ID})
}

// takeLead reads a lead submission into h, or rejects h (Status, Reason)
// and returns the refusal's HTTP status. Its error says only that the
// endpoint cannot be read now (storage.ErrUnavailable): h is then
// incomplete, to be decided later from r.
func (s *Server) takeLead(r *request, h *storage.Hit) (int, error) {
	reject := func(status int, reason string) (int, error) {
		h.Status, h.Reason = storage.StatusRejected, reason
		return status, nil
	}
	acct, err := s.configs.owner(storage.ConfigLeadEndpoint, r.endpoint)
	var ep *leadEndpointDoc
	if err == nil {
		h.Account = acct
		var v any
		v, err = s.configs.doc(acct, storage.ConfigLeadEndpoint, r.endpoint, decodeAs[leadEndpointDoc])
		if err == nil {
			ep = v.(*leadEndpointDoc)
		}
	}
	if err != nil {
		h.Account = ""
		if errors.Is(err, storage.ErrNotFound) {
			return reject(fiber.StatusNotFound, "unknown_endpoint")
		}
		if !errors.Is(err, storage.ErrUnavailable) {
			return reject(fiber.StatusInternalServerError, storage.ReasonInternal)
		}
		// Until the endpoint's field names are known, every value of the
		// query may be personal.
		h.Query = attribution.RedactQueryWith(r.query, maxRecordedQuery, attribution.Redaction{AllValues: true})
		return 0, err
	}
	h.SourceID = r.endpoint // the lead log lists an endpoint's leads, refused ones too
	fields := ep.Fields.WithDefaults()
	// The card's fields are personal whatever the endpoint names them.
	h.Query = attribution.RedactQueryWith(r.query, maxRecordedQuery,
		attribution.Redaction{Keys: []string{fields.Name, fields.Email, fields.ScreenName}})
	values, keys, err := requestValues(r)
	if err != nil {
		return reject(fiber.StatusBadRequest, "invalid_body")
	}
	ld, perr := attribution.ParseLead(values, fields, keys)
	if ep.Salt != "" && !ld.ValidToken(ep.Salt, ep.TokenIncludesHidden) {
		return reject(fiber.StatusForbidden, "bad_token")
	}
	// After the token: only the card's owner learns it is switched off.
	if !enabled(ep.Enabled) {
		return reject(fiber.StatusForbidden, reasonEndpointDisabled)
	}
	if perr != nil {
		return reject(fiber.StatusBadRequest, reasonOf(perr))
	}
	h.Email, h.Source = ld.Email, "lead"
	h.Profile = map[string]string{}
	for k, v := range map[string]string{"name": ld.Name, "screen_name": ld.ScreenName} {
		if v != "" {
			h.Profile[k] = v
		}
	}
	for k, v := range ld.Hidden {
		h.Profile["hidden."+k] = v
	}
	return 0, nil
}

// crmSourceDoc is a CRM sending lead-stage events (SPEC §1.6, §8).
type crmSourceDoc struct {
	Preset          string                 `json:"preset"`
	Mapping         attribution.CRMMapping `json:"mapping"`
	LeadEventSource string                 `json:"lead_event_source"`
	DatasetID       string                 `json:"dataset_id"`
	// Secret, if set, must come as the X-Pixelpost-Secret header (or
	// ?secret=) with every request: events decide ad spend.
	Secret string `json:"secret,omitempty"`
	// Enabled false: its events are refused, 403 source_disabled
	// (recorded rejected), and nothing is queued for Meta.
	Enabled *bool `json:"enabled,omitempty"`
}

func (s *Server) putCRMSource(c *fiber.Ctx) error {
	var d crmSourceDoc
	if err := s.decodeConfig(c, storage.ConfigCRMSource, &d); err != nil {
		return err
	}
	if d.Preset == "" {
		d.Preset = "generic"
	}
	m, ok := attribution.CRMPreset(d.Preset)
	if !ok {
		return errBadRequest("invalid_preset", fmt.Sprintf("preset %q is not one of %v", d.Preset, attribution.CRMPresetNames()))
	}
	if err := m.WithOverrides(d.Mapping).Validate(); err != nil {
		return errBadRequest("invalid_mapping", err.Error())
	}
	if d.DatasetID != "" {
		if _, err := s.meta.Dataset(c.UserContext(), account(c).ID, d.DatasetID); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return errBadRequest("invalid_dataset_id", fmt.Sprintf("meta dataset %q does not exist: create it first", d.DatasetID))
			}
			return err
		}
	}
	d.Enabled = switchedOn(d.Enabled)
	return s.putConfig(c, storage.ConfigCRMSource, "crm_source", d)
}
