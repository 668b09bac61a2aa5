package server

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/internal/secret"
	"github.com/pixelpost/pixelpost/storage"
)

// Secrets in config documents: the admin API takes them but never shows
// them again (SPEC §6). Answers carry their mask (internal/secret); a PUT
// that sends the mask back keeps the stored value, so that read, edit,
// write does not replace a secret with its mask.

// secretFields names, per config kind, the fields that hold a secret.
var secretFields = map[string][]string{
	storage.ConfigNetwork:      {"secret"}, // checks inbound postbacks
	configWebhook:              {"secret"}, // signs webhook deliveries
	storage.ConfigLeadEndpoint: {"salt"},   // checks lead tokens
	storage.ConfigCRMSource:    {"secret"}, // checks CRM event posts
}

// maskSecrets returns a stored config document as an answer shows it.
func maskSecrets(kind string, raw []byte) ([]byte, error) {
	fields := secretFields[kind]
	if len(fields) == 0 {
		return raw, nil
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("stored %s document: %w", kind, err)
	}
	for _, f := range fields {
		if v, ok := jsonString(doc[f]); ok && v != "" {
			doc[f] = mustJSON(secret.Mask(v))
		}
	}
	return json.Marshal(doc)
}

// decodeConfig decodes the body of a config PUT into doc, after putting
// back the stored value of each secret the body sent as its mask.
func (s *Server) decodeConfig(c *fiber.Ctx, kind string, doc any) error {
	body := c.Body()
	if fields := secretFields[kind]; len(fields) > 0 {
		var err error
		if body, err = s.keepSecrets(c, kind, fields, body); err != nil {
			return err
		}
	}
	return decodeJSONBytes(body, doc)
}

func (s *Server) keepSecrets(c *fiber.Ctx, kind string, fields []string, body []byte) ([]byte, error) {
	var sent map[string]json.RawMessage
	if json.Unmarshal(body, &sent) != nil {
		return body, nil // decodeJSONBytes says what is wrong with it
	}
	var stored map[string]json.RawMessage
	loaded, changed := false, false
	for _, f := range fields {
		v, ok := jsonString(sent[f])
		if !ok || !secret.IsMasked(v) {
			continue
		}
		if !loaded {
			raw, err := s.ledger.Config(c.UserContext(), account(c).ID, kind, c.Params("id"))
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return nil, err
			}
			_ = json.Unmarshal(raw, &stored) // nothing stored: no secret to keep
			loaded = true
		}
		old, _ := jsonString(stored[f])
		kept, ok := secret.Keep(v, old)
		if !ok {
			return nil, errMaskedSecret(f)
		}
		sent[f], changed = mustJSON(kept), true
	}
	if !changed {
		return body, nil
	}
	return json.Marshal(sent)
}

func errMaskedSecret(field string) error {
	return errBadRequest("masked_secret", fmt.Sprintf("%s is a mask (****...) but not the mask of the stored %s: send the %s itself", field, field, field))
}

// jsonString reads a JSON string value; ok is false for anything else.
func jsonString(raw json.RawMessage) (v string, ok bool) {
	return v, raw != nil && json.Unmarshal(raw, &v) == nil
}

func mustJSON(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}
