package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/secret"
	"github.com/pixelpost/pixelpost/storage"
)

// A test postback proves a campaign's S2S setup from end to end without
// the traffic source or the network: this server follows the campaign's
// link as a visitor would (a real click, with the marker macro
// external_id=pp-test-…), then fires the network's postback URL at
// itself, with the network's parameter names and secret, as the network
// would. Both go through the public endpoints and their middleware, so
// the answer is the one the network would get. The click and the
// conversion are real: they count in the reports and logs like any other.

// testPostbackBody is what the test conversion carries.
type testPostbackBody struct {
	Payout string `json:"payout"` // default "1.00"
	Status string `json:"status"` // default pending: no money moves, the source is told nothing
}

// testStep is one request of the test and its answer.
type testStep struct {
	URL    string `json:"url"`
	Status int    `json:"status"`
	Answer string `json:"answer"`
}

type testPostbackView struct {
	OK         bool      `json:"ok"` // the postback answered 200 (ok or duplicate)
	ExternalID string    `json:"external_id"`
	ClickID    string    `json:"click_id"`
	Click      testStep  `json:"click"`
	Postback   *testStep `json:"postback"` // nil when the click failed
}

// testPostback: POST /accounts/{acct}/campaigns/{id}/test-postback.
func (s *Server) testPostback(c *fiber.Ctx) error {
	acct := account(c)
	id := strings.Clone(c.Params("id"))
	b := testPostbackBody{Payout: "1.00", Status: string(attribution.StatusPending)}
	if len(c.Body()) > 0 {
		if err := decodeJSON(c, &b); err != nil {
			return err
		}
	}
	if !attribution.ConvStatus(b.Status).Valid() {
		return errBadRequest("invalid_status", fmt.Sprintf("status %q is not pending, approved, declined or chargeback", b.Status))
	}
	if _, err := attribution.ParseAmount(b.Payout, acct.DefaultCurrency); err != nil {
		return errBadRequest("invalid_payout", fmt.Sprintf("payout %q: %v", b.Payout, err))
	}
	raw, err := s.ledger.Config(c.UserContext(), acct.ID, storage.ConfigCampaign, id)
	if errors.Is(err, storage.ErrNotFound) {
		return errNotFound("no such campaign")
	}
	if err != nil {
		return err
	}
	var camp campaignBody
	if err := json.Unmarshal(raw, &camp); err != nil {
		return fmt.Errorf("cannot decode stored campaign %q: %w", id, err)
	}
	var random [6]byte
	_, _ = rand.Read(random[:])
	v := testPostbackView{ExternalID: "pp-test-" + hex.EncodeToString(random[:])}

	clickPath := "/c/" + url.PathEscape(id) + "?external_id=" + v.ExternalID
	status, resp := s.selfRequest(c, clickPath)
	v.Click = testStep{URL: c.BaseURL() + clickPath, Status: status, Answer: answerText(resp)}
	if status != fiber.StatusFound {
		return c.JSON(v)
	}
	var cookie fasthttp.Cookie
	cookie.SetKey(clickCookie)
	if resp.Header.Cookie(&cookie) {
		v.ClickID = string(cookie.Value())
	}
	if v.ClickID == "" {
		v.Click.Answer = "the click set no pp_cid cookie"
		return c.JSON(v)
	}

	// The network's postback URL, filled in as the network would.
	preset, _ := attribution.LookupPreset("generic")
	path := "/v1/postback/" + url.PathEscape(acct.ID)
	var netSecret string
	if camp.NetworkID != "" {
		raw, err := s.ledger.Config(c.UserContext(), acct.ID, storage.ConfigNetwork, camp.NetworkID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		var d networkDoc
		if err == nil {
			if err := json.Unmarshal(raw, &d); err != nil {
				return fmt.Errorf("cannot decode stored network %q: %w", camp.NetworkID, err)
			}
		}
		if p, ok := attribution.LookupPreset(d.Preset); ok {
			preset = p.WithOverrides(d.Params)
		}
		path += "/" + url.PathEscape(camp.NetworkID) // a deleted network answers unknown_network
		netSecret = d.Secret
	}
	var query, shown strings.Builder
	add := func(name, value string) {
		if name == "" {
			return
		}
		for _, b := range []*strings.Builder{&query, &shown} {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(name) + "=")
		}
		query.WriteString(url.QueryEscape(value))
		if name == preset.Params.Secret {
			shown.WriteString(secret.Mask(value)) // as every answer shows secrets
			return
		}
		shown.WriteString(url.QueryEscape(value))
	}
	add(preset.Params.ClickID, v.ClickID)
	add(preset.Params.Payout, b.Payout)
	add(preset.Params.TxID, v.ExternalID)
	add(preset.Params.Status, b.Status)
	if netSecret != "" {
		add(preset.Params.Secret, netSecret)
	}
	status, resp = s.selfRequest(c, path+"?"+query.String())
	v.Postback = &testStep{URL: c.BaseURL() + path + "?" + shown.String(), Status: status, Answer: answerText(resp)}
	v.OK = status == fiber.StatusOK
	return c.JSON(v)
}

// selfRequest serves a GET of uri through this server's own routes and
// middleware, from loopback, and returns the answer (the caller's to
// read before it returns; it is released with the request).
func (s *Server) selfRequest(c *fiber.Ctx, uri string) (int, *fasthttp.Response) {
	var req fasthttp.Request
	req.Header.SetMethod(fiber.MethodGet)
	req.SetRequestURI(uri)
	req.Header.SetHost(c.Hostname())
	req.Header.SetUserAgent("pixelpost test postback")
	var rc fasthttp.RequestCtx
	rc.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, nil)
	s.app.Handler()(&rc)
	return rc.Response.StatusCode(), &rc.Response
}

// answerText is what a test step shows of an answer: a short text body as
// it is, an HTML page by its status only.
func answerText(resp *fasthttp.Response) string {
	if strings.HasPrefix(string(resp.Header.ContentType()), "text/html") {
		return ""
	}
	body := string(resp.Body())
	if len(body) > 200 {
		body = body[:200]
	}
	return strings.TrimSpace(body)
}
