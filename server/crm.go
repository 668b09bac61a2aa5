package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/secret"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/meta"
)

// reasonSourceDisabled: events from a CRM source switched off.
const reasonSourceDisabled = "source_disabled"

// crmEventView is the answer's line for one event.
type crmEventView struct {
	Index     int    `json:"index"`
	LeadID    string `json:"lead_id,omitempty"`
	EventName string `json:"event_name,omitempty"`
	Status    string `json:"status"` // accepted, duplicate, rejected
	Reason    string `json:"reason,omitempty"`
	Detail    string `json:"detail,omitempty"`
}

// crmEvents takes lead-stage events from a CRM (SPEC §1.6): one JSON
// object, an array, or CSV, read through the source's mapping. Each event
// is validated alone; the valid ones are queued for Meta (each (lead,
// stage) once) and every one is a raw hit (kind crm; txid is the lead id,
// goal the stage). The answer lists each event's fate.
func (s *Server) crmEvents(c *fiber.Ctx) error {
	base := s.newHit(c, storage.KindCRM)
	srcID := capped(c.Params("source"), maxRecordedAcct)
	acct, err := s.configs.owner(storage.ConfigCRMSource, srcID)
	var src *crmSourceDoc
	if err == nil {
		var v any
		if v, err = s.configs.doc(acct, storage.ConfigCRMSource, srcID, decodeAs[crmSourceDoc]); err == nil {
			src = v.(*crmSourceDoc)
		}
	}
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return c.Status(fiber.StatusNotFound).JSON(fiber.Map{"error": "unknown_source"})
		}
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"error": "unavailable"})
	}
	base.Account = acct
	if src.Secret != "" {
		got := string(c.Request().Header.Peek("X-Pixelpost-Secret"))
		if got == "" {
			got = c.Query("secret")
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(src.Secret)) != 1 {
			base.Status, base.Reason = storage.StatusRejected, "bad_secret"
			s.record(&base)
			return c.Status(fiber.StatusForbidden).JSON(fiber.Map{"error": "bad_secret"})
		}
	}
	// After the secret: only the CRM learns the source is switched off.
	if !enabled(src.Enabled) {
		base.Status, base.Reason = storage.StatusRejected, reasonSourceDisabled
		s.record(&base)
		return c.Status(fiber.StatusForbidden).JSON(fiber.Map{"error": reasonSourceDisabled})
	}
	m, _ := attribution.CRMPreset(src.Preset)
	events, rejects, err := attribution.ParseCRMEvents(c.Body(), string(c.Request().Header.ContentType()), m.WithOverrides(src.Mapping), s.now())
	if err != nil {
		base.Status, base.Reason = storage.StatusRejected, reasonOf(err)
		s.record(&base)
		return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": reasonOf(err), "message": err.Error()})
	}

	views := make([]crmEventView, 0, len(events)+len(rejects))
	for _, r := range rejects {
		views = append(views, crmEventView{Index: r.Index, Status: string(storage.StatusRejected), Reason: r.Reason, Detail: r.Detail})
	}
	if len(events) > 0 {
		results := make([]meta.EnqueueResult, len(events))
		if src.DatasetID != "" {
			me := make([]meta.Event, len(events))
			for i, e := range events {
				me[i] = meta.Event{LeadID: e.LeadID, EventName: e.EventName, EventTime: e.EventTime, LeadEventSource: src.LeadEventSource}
			}
			ctx, cancel := context.WithTimeout(c.UserContext(), 10*time.Second)
			defer cancel()
			if results, err = s.meta.Enqueue(ctx, acct, src.DatasetID, me); err != nil {
				s.errLog.Error().Err(err).Str("account", acct).Msg("cannot queue CRM events for Meta")
				return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"error": "unavailable"})
			}
		}
		for i, e := range events {
			v := crmEventView{Index: e.Index, LeadID: e.LeadID, EventName: e.EventName, Status: string(storage.StatusAccepted)}
			switch results[i].Status {
			case meta.ResultDuplicate:
				v.Status, v.Reason = string(storage.StatusDuplicate), "already_sent"
			case meta.ResultRejected:
				v.Status, v.Reason = string(storage.StatusRejected), results[i].Reason
			}
			views = append(views, v)
		}
	}
	hits := make([]storage.Hit, len(views))
	for i, v := range views {
		h := base
		h.ID = newHitID(base.Time)
		h.Status, h.Reason = storage.Status(v.Status), v.Reason
		h.TxID, h.Goal, h.Source = v.LeadID, v.EventName, src.LeadEventSource
		hits[i] = h
	}
	if err := s.pipeline.RecordAll(hits); err != nil {
		s.errLog.Error().Err(err).Msg("cannot record CRM events")
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"error": "unavailable"})
	}
	accepted := 0
	for _, v := range views {
		if v.Status == string(storage.StatusAccepted) {
			accepted++
		}
	}
	return c.JSON(fiber.Map{"accepted": accepted, "total": len(views), "events": views})
}

// Meta datasets (SPEC §3.3, §8).

type metaDatasetBody struct {
	AccessToken     string `json:"access_token"`
	APIVersion      string `json:"api_version"`
	PartnerAgent    string `json:"partner_agent"`
	GraphBase       string `json:"graph_base"`
	TestEventCode   string `json:"test_event_code"`
	LeadEventSource string `json:"lead_event_source"`
	// Enabled false pauses sending (meta.Dataset.Enabled).
	Enabled *bool `json:"enabled"`
	// What GET answers besides: accepted so that a GET's answer can be
	// sent back, and ignored (the path names the dataset).
	DatasetID string `json:"dataset_id"`
	Account   string `json:"account"`
}

func (s *Server) putMetaDataset(c *fiber.Ctx) error {
	var b metaDatasetBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	d := meta.Dataset{ID: strings.Clone(c.Params("id")), Account: account(c).ID, AccessToken: b.AccessToken, APIVersion: b.APIVersion,
		PartnerAgent: b.PartnerAgent, GraphBase: b.GraphBase, TestEventCode: b.TestEventCode, LeadEventSource: b.LeadEventSource,
		Enabled: b.Enabled}
	if secret.IsMasked(d.AccessToken) {
		// The token as GET showed it: keep the stored one (see secrets.go).
		old, err := s.meta.Dataset(c.UserContext(), d.Account, d.ID)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		var ok bool
		if d.AccessToken, ok = secret.Keep(d.AccessToken, old.AccessToken); !ok {
			return errMaskedSecret("access_token")
		}
	}
	if err := s.meta.PutDataset(c.UserContext(), d); err != nil {
		if errors.Is(err, meta.ErrInvalid) {
			return errBadRequest("invalid_dataset", err.Error())
		}
		return err
	}
	got, err := s.meta.Dataset(c.UserContext(), d.Account, d.ID)
	if err != nil {
		return err
	}
	return c.JSON(got.Redacted())
}

func (s *Server) getMetaDataset(c *fiber.Ctx) error {
	d, err := s.meta.Dataset(c.UserContext(), account(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(d.Redacted())
}

func (s *Server) metaDiagnostics(c *fiber.Ctx) error {
	d, err := s.meta.Diagnostics(c.UserContext(), account(c).ID, c.Params("id"), s.now())
	if err != nil {
		return err
	}
	return c.JSON(d)
}

// metaEvents lists a dataset's events: ?status=pending|sent|failed|rejected,
// ?limit= and ?cursor= (page.go; the cursor is an offset).
func (s *Server) metaEvents(c *fiber.Ctx) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	offset := 0
	if v := c.Query("cursor"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return errBadRequest("invalid_cursor", "cursor must be a next_cursor of an earlier answer")
		}
	}
	evs, more, err := s.meta.EventsPage(c.UserContext(), account(c).ID, c.Params("id"), c.Query("status"), offset, limit)
	if errors.Is(err, meta.ErrInvalid) {
		return errBadRequest("invalid_filter", err.Error())
	}
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []meta.StoredEvent{}
	}
	next := ""
	if more {
		next = strconv.Itoa(offset + len(evs))
	}
	return c.JSON(fiber.Map{"events": evs, "next_cursor": next})
}
