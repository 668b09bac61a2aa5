package server

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/meta"
)

// Configuration life cycle: what is created through the API can be
// deleted through it. What was recorded stays: raw hits, reports, the
// ledger's totals and clicks are history, not configuration.

// configDeletedWebinar marks a deleted webinar (a document per webinar
// id): the ledger keeps its totals, the list leaves it out.
const configDeletedWebinar = "deleted_webinar"

// deleteConfig deletes one configuration document (404 when missing) and
// drops it from this node's cache at once: a deleted campaign's link
// answers its 404 page, a postback through a deleted network
// unknown_network (other nodes within cacheTTL).
func (s *Server) deleteConfig(kind, what string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := strings.Clone(c.Params("id"))
		if err := s.deleteDocs(c, what, id, kind); err != nil {
			return err
		}
		s.configs.forget(account(c).ID, kind, id)
		return nil
	}
}

// deleteWebinar takes a webinar out of the list and out of every tag, so
// that a tag no longer stands for it. Its totals stay in the ledger, its
// stats and reports still answer (history); a later hit naming it by id
// still counts there (the sale happened), but it stays off the list until
// it is PUT again.
func (s *Server) deleteWebinar(c *fiber.Ctx) error {
	ctx, acct := c.UserContext(), account(c).ID
	id := strings.Clone(c.Params("webinar"))
	ws, err := s.listedWebinars(c)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ws, func(w storage.Webinar) bool { return w.ID == id }) {
		return errNotFound("no such webinar")
	}
	if err := s.ledger.PutWebinar(ctx, acct, storage.Webinar{ID: id, Tags: []string{}}); err != nil {
		return err
	}
	mark, err := json.Marshal(map[string]string{"deleted_at": s.now().UTC().Format("2006-01-02T15:04:05Z")})
	if err != nil {
		return err
	}
	if err := s.ledger.PutConfig(ctx, acct, configDeletedWebinar, id, mark); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"deleted": id})
}

// listedWebinars are the ledger's webinars but the deleted ones.
func (s *Server) listedWebinars(c *fiber.Ctx) ([]storage.Webinar, error) {
	ctx, acct := c.UserContext(), account(c).ID
	ws, err := s.ledger.Webinars(ctx, acct)
	if err != nil {
		return nil, err
	}
	deleted, err := s.ledger.Configs(ctx, acct, configDeletedWebinar)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	out := make([]storage.Webinar, 0, len(ws))
	for _, w := range ws {
		if _, gone := deleted[w.ID]; !gone {
			out = append(out, w)
		}
	}
	return out, nil
}

// listMetaDatasets answers the account's datasets by id, tokens masked.
func (s *Server) listMetaDatasets(c *fiber.Ctx) error {
	all, err := s.meta.Datasets(c.UserContext(), account(c).ID)
	if err != nil {
		return err
	}
	out := make(map[string]meta.Dataset, len(all))
	for _, d := range all {
		out[d.ID] = d.Redacted()
	}
	return c.JSON(out)
}

// deleteMetaDataset deletes a dataset and its events (sent or not); CRM
// events already recorded stay in the raw hits.
func (s *Server) deleteMetaDataset(c *fiber.Ctx) error {
	id := strings.Clone(c.Params("id"))
	if err := s.meta.DeleteDataset(c.UserContext(), account(c).ID, id); err != nil {
		if errors.Is(err, meta.ErrNotFound) {
			return errNotFound("no such dataset")
		}
		return err
	}
	return c.JSON(fiber.Map{"deleted": id})
}

// enabled reads an "enabled" switch: absent (documents stored before it
// existed) is on.
func enabled(v *bool) bool { return v == nil || *v }

// switchedOn is the stored value of an "enabled" switch.
func switchedOn(v *bool) *bool {
	on := enabled(v)
	return &on
}
