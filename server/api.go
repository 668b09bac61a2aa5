package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/report"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/pipeline"
)

const (
	maxNameLen    = 200
	maxTags       = 50
	apiTimeout    = 10 * time.Second
	contextLocals = "account"
	// manualWait is how long a manual conversion waits for the ledger
	// before it answers 202 queued.
	manualWait = 3 * time.Second
)

// requireAccount loads the account named in the path for the handlers
// below, and admits a request that is not the admin's only with one of that
// account's keys (apikeys.go).
func (s *Server) requireAccount(c *fiber.Ctx) error {
	// Owned: handlers keep the id in maps and stores after the request.
	acct, err := s.ledger.Account(c.UserContext(), strings.Clone(c.Params("acct")))
	if !isAdmin(c) {
		if err != nil {
			return errUnauthorized(c) // an account key learns nothing of other accounts
		}
		token, _ := bearer(c)
		key, ok, err := s.accountKey(c, acct.ID, token)
		if err != nil {
			return err
		}
		if !ok {
			return errUnauthorized(c)
		}
		if key.Role == roleRead && c.Method() != fiber.MethodGet {
			return &apiError{fiber.StatusForbidden, "read_only_key", "this account key may only read"}
		}
	}
	if err != nil {
		return err
	}
	c.Locals(contextLocals, acct)
	return c.Next()
}

// withTimeout bounds every API handler's storage calls (c.UserContext()).
func withTimeout(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

func account(c *fiber.Ctx) storage.Account { return c.Locals(contextLocals).(storage.Account) }

// decodeJSON reads a strict JSON body: unknown fields are errors, so a
// typo in a field name is reported instead of ignored.
func decodeJSON(c *fiber.Ctx, v any) error {
	return decodeJSONBytes(c.Body(), v)
}

func decodeJSONBytes(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errBadRequest("invalid_json", fmt.Sprintf("cannot decode request body: %v", err))
	}
	return nil
}

func validIDParam(c *fiber.Ctx, name, what string) (string, error) {
	v := strings.Clone(c.Params(name))
	if !attribution.ValidID(v) {
		return "", errBadRequest("invalid_"+what+"_id", what+" ids are 1-64 characters of A-Z a-z 0-9 _ . : -")
	}
	return v, nil
}

type accountBody struct {
	Name            string `json:"name"`
	DefaultCurrency string `json:"default_currency"`
	MaxAmount       string `json:"max_amount"` // in DefaultCurrency; empty: attribution.DefaultMaxAmount
	// Report options (reportSettings): the zone of report days and date
	// presets, and fixed exchange rates into DefaultCurrency.
	Timezone string            `json:"timezone"`
	Rates    map[string]string `json:"rates"`
}

// accountView is an account as the API shows it: max_amount, timezone
// and rates always set.
type accountView struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	DefaultCurrency string            `json:"default_currency"`
	MaxAmount       string            `json:"max_amount"`
	Timezone        string            `json:"timezone"`
	Rates           map[string]string `json:"rates"`
}

func viewAccount(a storage.Account, rs reportSettings) accountView {
	v := accountView{ID: a.ID, Name: a.Name, DefaultCurrency: a.DefaultCurrency,
		MaxAmount: attribution.FormatAmount(attribution.MaxAmountOrDefault(a.MaxAmount), a.DefaultCurrency),
		Timezone:  rs.Timezone, Rates: rs.Rates}
	if v.Timezone == "" {
		v.Timezone = "UTC"
	}
	if v.Rates == nil {
		v.Rates = map[string]string{}
	}
	return v
}

func (s *Server) putAccount(c *fiber.Ctx) error {
	id, err := validIDParam(c, "acct", "account")
	if err != nil {
		return err
	}
	var body accountBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if len(body.Name) > maxNameLen {
		return errBadRequest("invalid_name", fmt.Sprintf("name is longer than %d bytes", maxNameLen))
	}
	if body.DefaultCurrency == "" {
		body.DefaultCurrency = "USD"
	}
	cur, err := attribution.NormalizeCurrency(body.DefaultCurrency)
	if err != nil {
		return errBadRequest("invalid_currency", fmt.Sprintf("default_currency %q is not an ISO 4217 code", body.DefaultCurrency))
	}
	a := storage.Account{ID: id, Name: body.Name, DefaultCurrency: cur}
	if body.MaxAmount != "" {
		if a.MaxAmount, err = attribution.ParseAmount(body.MaxAmount, cur); err != nil || a.MaxAmount <= 0 {
			return errBadRequest("invalid_max_amount", fmt.Sprintf("max_amount %q is not a positive amount of %s", body.MaxAmount, cur))
		}
	}
	if _, err := checkTimezone(body.Timezone); err != nil {
		return err
	}
	rates, err := report.ParseRates(body.Rates, cur)
	if err != nil {
		return errBadRequest("invalid_rates", "rates: "+err.Error())
	}
	rs := reportSettings{Timezone: body.Timezone, Rates: rates.Map()}
	if err := s.ledger.PutAccount(c.UserContext(), a); err != nil {
		return err
	}
	doc, _ := json.Marshal(rs) // strings only: cannot fail
	if err := s.ledger.PutConfig(c.UserContext(), id, configReportSettings, reportSettingsID, doc); err != nil {
		return err
	}
	s.accounts.forget(id)
	return c.JSON(viewAccount(a, rs))
}

func (s *Server) getAccount(c *fiber.Ctx) error {
	rs, err := s.reportSettings(c.UserContext(), account(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(viewAccount(account(c), rs))
}

type webinarBody struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

func (s *Server) putWebinar(c *fiber.Ctx) error {
	id, err := validIDParam(c, "webinar", "webinar")
	if err != nil {
		return err
	}
	var body webinarBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if len(body.Name) > maxNameLen {
		return errBadRequest("invalid_name", fmt.Sprintf("name is longer than %d bytes", maxNameLen))
	}
	if len(body.Tags) > maxTags {
		return errBadRequest("too_many_tags", fmt.Sprintf("a webinar has at most %d tags", maxTags))
	}
	tags := make([]string, 0, len(body.Tags))
	seen := map[string]bool{}
	for _, t := range body.Tags {
		if !attribution.ValidID(t) {
			return errBadRequest("invalid_tag", fmt.Sprintf("tag %q: tags are 1-64 characters of A-Z a-z 0-9 _ . : -", t))
		}
		if !seen[t] {
			seen[t] = true
			tags = append(tags, t)
		}
	}
	sort.Strings(tags)
	w := storage.Webinar{ID: id, Name: body.Name, Tags: tags}
	if err := s.ledger.PutWebinar(c.UserContext(), account(c).ID, w); err != nil {
		return err
	}
	// Put again after a DELETE: listed again.
	if err := s.ledger.DeleteConfig(c.UserContext(), account(c).ID, configDeletedWebinar, id); err != nil {
		return err
	}
	return c.JSON(w)
}

func (s *Server) listWebinars(c *fiber.Ctx) error {
	ws, err := s.listedWebinars(c)
	if err != nil {
		return err
	}
	if ws == nil {
		ws = []storage.Webinar{}
	}
	return c.JSON(fiber.Map{"webinars": ws})
}

type statsView struct {
	Registrants    int64             `json:"registrants"`
	Converted      int64             `json:"converted"`
	Sales          int64             `json:"sales"`
	Revenue        map[string]string `json:"revenue"`
	ConversionRate float64           `json:"conversion_rate"`
}

func (s *Server) webinarStats(c *fiber.Ctx) error {
	st, err := s.ledger.WebinarStats(c.UserContext(), account(c).ID, c.Params("webinar"))
	if err != nil {
		return err
	}
	v := statsView{
		Registrants: st.Registrants,
		Converted:   st.Converted,
		Sales:       st.Sales,
		Revenue:     formatMoney(st.Revenue),
	}
	if st.Registrants > 0 {
		v.ConversionRate = float64(st.ConvertedRegistrants) / float64(st.Registrants)
	}
	return c.JSON(v)
}

// formatMoney renders per-currency totals as decimal strings.
func formatMoney(m map[string]attribution.Micros) map[string]string {
	out := make(map[string]string, len(m))
	for cur, v := range m {
		out[cur] = attribution.FormatAmount(v, cur)
	}
	return out
}

type orderView struct {
	OrderID     string    `json:"order_id"`
	Amount      string    `json:"amount"`
	Currency    string    `json:"currency"`
	Webinars    []string  `json:"webinars"`
	ProductID   string    `json:"product_id,omitempty"`
	ProductName string    `json:"product_name,omitempty"`
	Source      string    `json:"source"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
}

type attendeeView struct {
	ID          string            `json:"attendee_id"`
	Email       string            `json:"email"`
	Orders      int64             `json:"orders"`
	LTV         map[string]string `json:"ltv"`
	Webinars    []string          `json:"webinars"`
	Acquisition []string          `json:"acquisition_webinars"`
	OrderList   []orderView       `json:"order_list"`
}

// emailParam normalises the :email path parameter (URL-decoded by Fiber).
func emailParam(c *fiber.Ctx) (string, error) {
	raw, err := url.PathUnescape(c.Params("email"))
	if err != nil {
		return "", errBadRequest("invalid_email", "the path holds a malformed %-escape")
	}
	email, err := attribution.NormalizeEmail(raw)
	if err != nil {
		return "", errBadRequest("invalid_email", "the path does not hold a valid email address")
	}
	return email, nil
}

func (s *Server) getAttendee(c *fiber.Ctx) error {
	email, err := emailParam(c)
	if err != nil {
		return err
	}
	a, err := s.ledger.Attendee(c.UserContext(), account(c).ID, email)
	if err != nil {
		return err
	}
	v := attendeeView{
		ID: a.ID, Email: a.Email, Orders: a.Orders, LTV: formatMoney(a.LTV),
		Webinars: nonNil(a.Webinars), Acquisition: nonNil(a.Acquisition), OrderList: []orderView{},
	}
	for _, o := range a.OrderList {
		v.OrderList = append(v.OrderList, orderView{
			OrderID: o.OrderID, Amount: attribution.FormatAmount(o.Amount, o.Currency), Currency: o.Currency,
			Webinars: nonNil(o.Webinars), ProductID: o.ProductID, ProductName: o.ProductName, Source: o.Source,
			FirstSeen: o.FirstSeen.UTC(), LastSeen: o.LastSeen.UTC(),
		})
	}
	return c.JSON(v)
}

type conversionBody struct {
	WebinarID string `json:"webinar_id"`
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	OrderID   string `json:"order_id"`
}

type resultView struct {
	HitID      string   `json:"hit_id"`
	Status     string   `json:"status"`
	Reason     string   `json:"reason,omitempty"`
	Delta      string   `json:"delta"`
	Currency   string   `json:"currency"`
	Webinars   []string `json:"webinars"`
	AttendeeID string   `json:"attendee_id,omitempty"`
}

// manualConversion marks an attendee as converted (SPEC §2.6): the same
// ledger operation as the pixel, with source "manual".
func (s *Server) manualConversion(c *fiber.Ctx) error {
	email, err := emailParam(c)
	if err != nil {
		return err
	}
	var body conversionBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	acct := account(c)
	var webinars []string
	if body.WebinarID != "" {
		if !attribution.ValidID(body.WebinarID) {
			return errBadRequest("invalid_webinar_id", "webinar ids are 1-64 characters of A-Z a-z 0-9 _ . : -")
		}
		webinars = []string{body.WebinarID}
	}
	cur := acct.DefaultCurrency
	if body.Currency != "" {
		if cur, err = attribution.NormalizeCurrency(body.Currency); err != nil {
			return err
		}
	}
	var amount attribution.Micros
	if body.Amount != "" {
		if amount, err = attribution.ParseAmount(body.Amount, cur); err != nil {
			return err
		}
		if err := attribution.CheckMaxAmount(amount, cur, acct.MaxAmount, acct.DefaultCurrency); err != nil {
			return err
		}
	}
	if !attribution.ValidOrderID(body.OrderID) {
		return errBadRequest(attribution.ReasonInvalidOrderID, "order_id is at most 128 bytes, without control characters")
	}
	sum := emailSHA256(email)
	attendee := attribution.AttendeeIDOfEmailSHA256(sum)
	key, _ := attribution.OrderKey(attribution.OrderKeyInput{
		OrderID: body.OrderID, AttendeeID: attendee, Webinars: webinars, Amount: amount, Currency: cur,
	})
	now := s.now()
	h := storage.Hit{
		ID: newHitID(now), Time: now, Account: acct.ID, Kind: storage.KindManual,
		Email: email, Webinars: webinars, OrderKey: key, OrderID: body.OrderID,
		HasAmount: body.Amount != "", Amount: amount, Currency: cur, Source: "manual",
	}
	h.EmailSHA256 = sum
	ctx, cancel := context.WithTimeout(c.UserContext(), manualWait)
	defer cancel()
	res, err := s.pipeline.RecordAndWait(ctx, &h)
	if errors.Is(err, pipeline.ErrQueued) {
		// Durable, applied when the ledger is back.
		return c.Status(fiber.StatusAccepted).JSON(resultView{HitID: h.ID, Status: string(storage.StatusQueued),
			Delta: "0", Currency: cur, Webinars: []string{}})
	}
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if res.Status == storage.StatusRejected {
		status = fiber.StatusUnprocessableEntity
	}
	return c.Status(status).JSON(resultView{
		HitID: h.ID, Status: string(res.Status), Reason: res.Reason,
		Delta: attribution.FormatAmount(res.Delta, cur), Currency: cur,
		Webinars: nonNil(res.Credited), AttendeeID: res.AttendeeID,
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
