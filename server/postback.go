package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/pipeline"
)

// postbackWait is how long a postback waits for the ledger before it is
// answered 202 queued (it is durable by then, and applied later).
const postbackWait = 2 * time.Second

// reasonNetworkDisabled: a postback through a network switched off.
const reasonNetworkDisabled = "network_disabled"

// postback takes a conversion from an affiliate network or tracker (SPEC
// §1.4): GET query, POST form or POST JSON; /v1/postback/{acct} reads the
// generic names, /v1/postback/{acct}/{network} the network's. It answers
// 200 ok or duplicate once the conversion is durably recorded, 202 queued
// when the ledger is unavailable, and 4xx with error=<reason> otherwise:
// never a silent 200 for a postback that did not count.
//
// A postback whose account or network this node cannot read now (the
// ledger is unreachable and they were never read here) is queued with its
// request and decided, authentication first, when they can be read: it
// is answered 202 queued like any postback the ledger has not decided.
func (s *Server) postback(c *fiber.Ctx) error {
	r := s.requestOf(c)
	h := s.newHit(c, storage.KindPostback)
	h.NetworkID = capped(c.Params("network"), maxRecordedAcct)
	if err := s.takePostback(&r, &h); err != nil {
		h.Deferred = r.deferred()
	}
	if h.Pending() {
		ctx, cancel := context.WithTimeout(context.Background(), postbackWait)
		defer cancel()
		h.EmailSHA256 = ""
		res, err := s.pipeline.RecordAndWait(ctx, &h)
		switch {
		case errors.Is(err, pipeline.ErrQueued):
			return c.Status(fiber.StatusAccepted).SendString("queued")
		case err != nil:
			s.lost(&h, err)
			return c.Status(fiber.StatusServiceUnavailable).SendString("error=unavailable")
		}
		return answerPostback(c, res)
	}
	s.record(&h)
	return c.Status(postbackStatus(h.Reason)).SendString("error=" + h.Reason)
}

// takePostback authenticates and parses a postback into h, or rejects h
// (Status, Reason). Its error says only that the account or the network
// cannot be read now (storage.ErrUnavailable): h is then incomplete, to be
// decided later from r.
func (s *Server) takePostback(r *request, h *storage.Hit) error {
	reject := func(reason string) error {
		h.Status, h.Reason = storage.StatusRejected, reason
		return nil
	}
	acct, err := s.accounts.get(h.Account)
	switch {
	case errors.Is(err, storage.ErrUnavailable):
		h.Query = attribution.RedactQueryWith(r.query, maxRecordedQuery, attribution.Redaction{AllValues: true})
		return err
	case errors.Is(err, storage.ErrNotFound):
		return reject(storage.ReasonUnknownAccount)
	case err != nil:
		return reject(storage.ReasonInternal)
	}
	preset, _ := attribution.LookupPreset("generic")
	// Whatever the outcome, the recorded query hides the network's secret
	// under its configured name and any stored secret under any name.
	defer func() { h.Query = s.redactSecrets(r.query, acct.ID, preset.Params.Secret) }()
	var net_ *network
	if h.NetworkID != "" {
		if net_, err = s.configs.network(acct.ID, h.NetworkID); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return reject("unknown_network")
			}
			if !errors.Is(err, storage.ErrUnavailable) {
				return reject(storage.ReasonInternal)
			}
			return err
		}
		p, ok := attribution.LookupPreset(net_.Preset)
		if !ok {
			return reject("bad_network_preset")
		}
		preset = p.WithOverrides(net_.Params)
	}
	values, _, err := requestValues(r)
	if err != nil {
		return reject("invalid_body")
	}
	pb, perr := attribution.ParsePostback(values, preset)
	// Authentication first: a postback that fails it learns nothing more.
	if net_ != nil {
		if net_.Secret != "" && subtle.ConstantTimeCompare([]byte(pb.Secret), []byte(net_.Secret)) != 1 {
			return reject("bad_secret")
		}
		if len(net_.allow) > 0 && !allowed(r.client, net_.allow) {
			return reject("ip_not_allowed")
		}
		// After authentication: only the network learns it is switched off.
		if !enabled(net_.Enabled) {
			return reject(reasonNetworkDisabled)
		}
	}
	if perr != nil {
		return reject(reasonOf(perr))
	}
	h.ClickID, h.TxID, h.Goal = pb.ClickID, pb.TxID, pb.Goal
	h.ConvStatus, h.RawStatus = string(pb.Status), pb.RawStatus
	h.HasAmount, h.Amount = pb.HasPayout, pb.Payout
	h.Currency = pb.Currency
	if h.Currency == "" {
		h.Currency = acct.DefaultCurrency
	}
	if h.Goal == "" {
		h.Goal = attribution.DefaultGoalID
	}
	h.Source = "postback"
	return nil
}

// redactSecrets is the postback's recorded query with, besides
// RedactQuery's rules, the secret parameter secretParam and every value
// equal to one of the account's network secrets hidden. When the secrets
// cannot be read, every value is hidden: a record without values beats a
// leaked secret.
func (s *Server) redactSecrets(raw []byte, acct, secretParam string) string {
	docs, err := s.configs.all(acct, storage.ConfigNetwork, decodeAs[networkDoc])
	if err != nil {
		return attribution.RedactQueryWith(raw, maxRecordedQuery, attribution.Redaction{Keys: []string{secretParam}, AllValues: true})
	}
	r := attribution.Redaction{Keys: []string{secretParam}}
	for _, d := range docs {
		r.Values = append(r.Values, d.(*networkDoc).Secret)
	}
	return attribution.RedactQueryWith(raw, maxRecordedQuery, r)
}

// answerPostback maps the ledger's decision to the network's answer.
func answerPostback(c *fiber.Ctx, r storage.Result) error {
	switch r.Status {
	case storage.StatusAccepted, storage.StatusUpdated:
		return c.SendString("ok")
	case storage.StatusDuplicate:
		return c.SendString("duplicate")
	}
	return c.Status(postbackStatus(r.Reason)).SendString("error=" + r.Reason)
}

// postbackStatus is the HTTP status of a refused postback, by reason,
// whether the server or the ledger refused it.
func postbackStatus(reason string) int {
	switch reason {
	case storage.ReasonUnknownClick, storage.ReasonExpiredClick, storage.ReasonUnknownAccount, "unknown_network":
		return fiber.StatusNotFound
	case storage.ReasonBadTransition, storage.ReasonCurrencyMismatch:
		return fiber.StatusConflict
	case storage.ReasonWrongNetwork, "bad_secret", "ip_not_allowed", reasonNetworkDisabled:
		return fiber.StatusForbidden // the click is its campaign's network's to convert
	case "bad_network_preset", storage.ReasonInternal:
		return fiber.StatusInternalServerError
	}
	return fiber.StatusBadRequest
}

// allowed reports whether the client address (clientaddr.go) is in one of
// the networks.
func allowed(a netip.Addr, nets []*net.IPNet) bool {
	if !a.IsValid() {
		return false
	}
	for _, n := range nets {
		if n.Contains(a.AsSlice()) {
			return true
		}
	}
	return false
}

// requestValues returns the parameters of a GET or POST tracking request
// (postbacks, leads): the query string, then a POST form or a JSON object
// (its scalar values as text), and their names in order of appearance. At
// most 50 names are kept (SPEC §6).
func requestValues(r *request) (func(string) []string, []string, error) {
	vals := map[string][]string{}
	var keys []string
	add := func(k, v string) {
		if vals[k] == nil {
			if len(keys) >= 50 {
				return
			}
			keys = append(keys, k)
		}
		vals[k] = append(vals[k], v)
	}
	var args fasthttp.Args
	args.ParseBytes(r.query)
	args.VisitAll(func(k, v []byte) { add(string(k), string(v)) })
	if r.method == fiber.MethodPost {
		ct := strings.ToLower(string(r.contentType))
		switch {
		case strings.HasPrefix(ct, fiber.MIMEApplicationJSON):
			var obj map[string]any
			dec := json.NewDecoder(strings.NewReader(string(r.body)))
			dec.UseNumber()
			if err := dec.Decode(&obj); err != nil {
				return nil, nil, err
			}
			for k, v := range obj {
				switch t := v.(type) {
				case string:
					add(k, t)
				case json.Number:
					add(k, t.String())
				case bool:
					add(k, strconv.FormatBool(t))
				}
			}
		case strings.HasPrefix(ct, fiber.MIMEApplicationForm):
			var form fasthttp.Args
			form.ParseBytes(r.body)
			form.VisitAll(func(k, v []byte) { add(string(k), string(v)) })
		}
	}
	return func(name string) []string { return vals[name] }, keys, nil
}
