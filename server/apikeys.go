package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Account API keys (SPEC §6): the bootstrap admin token manages every
// account; an account key opens that one account's API and dashboard
// only (an agency's client, a team's tool), read-only or not, and cannot
// create accounts or keys. A key is shown once, when it is made; the ledger keeps its
// SHA-256 only.
const (
	configAPIKey = "api_key"
	localsAdmin  = "admin" // the request carries the bootstrap token
	keyPrefix    = "ppk_"
)

// apiKeyDoc is a key as stored.
type apiKeyDoc struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Hash      string    `json:"sha256"` // of the whole key
	Last4     string    `json:"last4"`
	Role      string    `json:"role"` // roleRead or roleWrite
	CreatedAt time.Time `json:"created_at"`
}

// Key roles: a read key may only GET (reports, lists, files); a write key
// may also change the account's configuration and data.
const (
	roleRead  = "read"
	roleWrite = "write"
)

// authenticate admits requests with a bearer token: the bootstrap admin
// token (marked admin) or, to be checked against the account the path
// names, an account key.
func (s *Server) authenticate(c *fiber.Ctx) error {
	token, ok := bearer(c)
	if !ok {
		return errUnauthorized(c)
	}
	c.Locals(localsAdmin, subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.AdminToken)) == 1)
	return c.Next()
}

func bearer(c *fiber.Ctx) (string, bool) {
	token, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	return token, ok && token != ""
}

func isAdmin(c *fiber.Ctx) bool { v, _ := c.Locals(localsAdmin).(bool); return v }

func errUnauthorized(c *fiber.Ctx) error {
	c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="pixelpost"`)
	return &apiError{fiber.StatusUnauthorized, "unauthorized", "a valid Authorization: Bearer <admin token or account key> header is required"}
}

// adminOnly lets only the bootstrap token through.
func (s *Server) adminOnly(c *fiber.Ctx) error {
	if !isAdmin(c) {
		return &apiError{fiber.StatusForbidden, "admin_only", "this needs the admin token, not an account key"}
	}
	return c.Next()
}

// accountKey finds token among the account's keys; ok is false when it is
// none of them.
func (s *Server) accountKey(c *fiber.Ctx, acct, token string) (key apiKeyDoc, ok bool, err error) {
	if !strings.HasPrefix(token, keyPrefix) {
		return key, false, nil
	}
	keys, err := configDocs[apiKeyDoc](c.UserContext(), s.ledger, acct, configAPIKey)
	if err != nil {
		return key, false, err
	}
	sum := sha256.Sum256([]byte(token))
	want := hex.EncodeToString(sum[:])
	for _, k := range keys {
		if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(want)) == 1 {
			key, ok = k, true
		}
	}
	return key, ok, nil
}

type apiKeyBody struct {
	Name string `json:"name"`
	Role string `json:"role"` // "read" or "write" (default)
}

// createAPIKey makes a key for the account and shows it, once.
func (s *Server) createAPIKey(c *fiber.Ctx) error {
	var b apiKeyBody
	if err := decodeJSON(c, &b); err != nil {
		return err
	}
	if len(b.Name) > maxNameLen {
		return errBadRequest("invalid_name", fmt.Sprintf("name is longer than %d bytes", maxNameLen))
	}
	if b.Role == "" {
		b.Role = roleWrite
	}
	if b.Role != roleRead && b.Role != roleWrite {
		return errBadRequest("invalid_role", `role must be "read" or "write"`)
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return err
	}
	key := keyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(key))
	now := s.now().UTC()
	doc := apiKeyDoc{ID: "k" + newHitID(now), Name: b.Name, Hash: hex.EncodeToString(sum[:]), Last4: key[len(key)-4:],
		Role: b.Role, CreatedAt: now}
	v, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if err := s.ledger.PutConfig(c.UserContext(), account(c).ID, configAPIKey, doc.ID, v); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"id": doc.ID, "name": doc.Name, "role": doc.Role,
		"created_at": doc.CreatedAt, "key": key, "note": "store this key now: it is not shown again"})
}

// apiKeyView is a key as listed: never the key itself.
type apiKeyView struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Key       string    `json:"key"` // masked: ppk_****abcd
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) listAPIKeys(c *fiber.Ctx) error {
	keys, err := configDocs[apiKeyDoc](c.UserContext(), s.ledger, account(c).ID, configAPIKey)
	if err != nil {
		return err
	}
	out := make([]apiKeyView, 0, len(keys))
	for _, k := range keys {
		out = append(out, apiKeyView{ID: k.ID, Name: k.Name, Key: keyPrefix + "****" + k.Last4, Role: k.Role, CreatedAt: k.CreatedAt})
	}
	slices.SortFunc(out, func(a, b apiKeyView) int { return strings.Compare(a.ID, b.ID) })
	return c.JSON(fiber.Map{"api_keys": out})
}

func (s *Server) deleteAPIKey(c *fiber.Ctx) error {
	return s.deleteDocs(c, "api key", c.Params("id"), configAPIKey)
}
