package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/audience"
	"github.com/pixelpost/pixelpost/report"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/outbox"
)

// Reports read raw hits from s.reports: ClickHouse when configured, else
// the embedded hit index (storage/hitindex), with the same answers
// (docs/reports.md). The figures are computed by package report.

// configReportSettings keeps an account's report options (time zone,
// exchange rates), set with PUT /accounts/{acct}, as one document.
const (
	configReportSettings = "report_settings"
	reportSettingsID     = "account"
)

// reportSettings are an account's report options.
type reportSettings struct {
	// Timezone is the IANA zone of the account's report days and date
	// presets ("" is UTC); a request's ?tz= wins.
	Timezone string `json:"timezone,omitempty"`
	// Rates are fixed exchange rates into the account's currency
	// (report.ParseRates): {"EUR": "1.08"} is 1 EUR = 1.08.
	Rates map[string]string `json:"rates,omitempty"`
}

func (s *Server) reportSettings(ctx context.Context, account string) (reportSettings, error) {
	var rs reportSettings
	doc, err := s.ledger.Config(ctx, account, configReportSettings, reportSettingsID)
	if errors.Is(err, storage.ErrNotFound) {
		return rs, nil
	}
	if err != nil {
		return rs, err
	}
	if err := json.Unmarshal(doc, &rs); err != nil {
		return rs, errors.New("cannot read the account's report settings: " + err.Error())
	}
	return rs, nil
}

// checkTimezone accepts an IANA zone name ("" is UTC).
func checkTimezone(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" {
		return nil, errBadRequest("invalid_tz", "time zone "+quote(tz)+" is not an IANA time zone name (such as Europe/Paris)")
	}
	return loc, nil
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// reportParams are what every report and log reads from its query.
type reportParams struct {
	rng      report.Range
	tz       string
	preset   string
	settings reportSettings
	csv      bool
}

// periodView is the period an answer covers.
type periodView struct {
	From   *time.Time `json:"from"` // null: from the first hit
	To     *time.Time `json:"to"`   // null: up to now
	TZ     string     `json:"tz"`
	Preset string     `json:"preset,omitempty"`
}

func (p reportParams) view() periodView {
	v := periodView{TZ: p.tz, Preset: p.preset}
	if !p.rng.From.IsZero() {
		v.From = &p.rng.From
	}
	if !p.rng.To.IsZero() {
		v.To = &p.rng.To
	}
	return v
}

// reportQuery reads the period of a report: ?preset= (today, yesterday,
// last_7_days, last_30_days, this_month, last_month: calendar days in the
// time zone), or ?from= and ?to= (RFC 3339, or YYYY-MM-DD for whole days
// in the time zone); ?tz= (an IANA name; default the account's timezone,
// else UTC); ?format=csv (or Accept: text/csv) for CSV. Without a period,
// reports cover the 30 days before now and logs all time (allTime).
func (s *Server) reportQuery(c *fiber.Ctx, allTime bool) (reportParams, error) {
	var p reportParams
	var err error
	if p.settings, err = s.reportSettings(c.UserContext(), account(c).ID); err != nil {
		return p, err
	}
	p.tz = c.Query("tz", p.settings.Timezone)
	if p.tz == "" {
		p.tz = "UTC"
	}
	loc, err := checkTimezone(p.tz)
	if err != nil {
		return p, err
	}
	switch f := c.Query("format"); {
	case f == "csv":
		p.csv = true
	case f == "" || f == "json":
		p.csv = f == "" && strings.Contains(c.Get(fiber.HeaderAccept), "text/csv")
	default:
		return p, errBadRequest("invalid_format", "format is json or csv")
	}
	if p.preset = c.Query("preset"); p.preset != "" {
		if c.Query("from") != "" || c.Query("to") != "" {
			return p, errBadRequest("invalid_period", "give either preset or from and to, not both")
		}
		if p.rng, err = report.Period(p.preset, s.now(), loc); err != nil {
			return p, errBadRequest("invalid_preset", "preset is one of "+strings.Join(report.Presets, ", "))
		}
		return p, nil
	}
	// A date is a whole day in tz: from its start, to its end (the day
	// after's start, which the queries exclude).
	parse := func(name string, days int) (time.Time, error) {
		v := c.Query(name)
		if v == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
			return t.AddDate(0, 0, days), nil
		}
		return time.Time{}, errBadRequest("invalid_"+name, name+" is not RFC 3339 or YYYY-MM-DD")
	}
	if p.rng.To, err = parse("to", 1); err != nil {
		return p, err
	}
	if p.rng.From, err = parse("from", 0); err != nil {
		return p, err
	}
	if !allTime {
		if p.rng.To.IsZero() {
			p.rng.To = s.now()
		}
		if p.rng.From.IsZero() {
			p.rng.From = p.rng.To.AddDate(0, 0, -30)
		}
	}
	return p, nil
}

// sendTable answers a report as a CSV file, every cell a spreadsheet
// would run as a formula neutralised (audience.WriteCSV).
func sendTable(c *fiber.Ctx, name string, t report.Table) error {
	var buf bytes.Buffer
	if err := audience.WriteCSV(&buf, t.Header, t.Rows); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`.csv"`)
	return c.Send(buf.Bytes())
}

// webinarSeries: a webinar's registrants, sales, conversions and revenue
// per currency per day, in the time zone asked.
func (s *Server) webinarSeries(c *fiber.Ctx) error {
	p, err := s.reportQuery(c, false)
	if err != nil {
		return err
	}
	webinar := c.Params("webinar")
	points, err := s.reports.WebinarSeries(c.UserContext(), account(c).ID, webinar, p.rng, p.tz)
	if err != nil {
		return reportError(err)
	}
	days := report.Series(points)
	if p.csv {
		return sendTable(c, "webinar-"+webinar, report.SeriesTable(days))
	}
	return c.JSON(struct {
		WebinarID string `json:"webinar_id"`
		periodView
		Days []report.DayView `json:"days"`
	}{webinar, p.view(), days})
}

// hitsByStatus: how many hits of each kind were accepted, updated,
// duplicate or rejected, and why: what a user reads when a conversion did
// not count.
func (s *Server) hitsByStatus(c *fiber.Ctx) error {
	p, err := s.reportQuery(c, false)
	if err != nil {
		return err
	}
	counts, err := s.reports.HitsByStatus(c.UserContext(), account(c).ID, p.rng)
	if err != nil {
		return reportError(err)
	}
	hits := report.Statuses(counts)
	if p.csv {
		return sendTable(c, "hits", report.StatusTable(hits))
	}
	return c.JSON(struct {
		periodView
		Hits []report.StatusView `json:"hits"`
	}{p.view(), hits})
}

// campaignReport: clicks, conversions by status, CR, revenue, cost,
// profit, ROI, EPC and CPC, per currency and converted at the account's
// rates, grouped by up to three of campaign, source, network, zone,
// country and day (?group_by=campaign,zone,country), filtered by any of
// them (?campaign=c1: the drill-down from a row), with a totals row.
func (s *Server) campaignReport(c *fiber.Ctx) error {
	p, err := s.reportQuery(c, false)
	if err != nil {
		return err
	}
	acct := account(c)
	q := report.CampaignQuery{GroupBy: splitList(c.Query("group_by", report.DimCampaign)),
		Filters: map[string]string{}, Range: p.rng, TZ: p.tz}
	args := c.Context().QueryArgs()
	for _, d := range report.Dims {
		if args.Has(d) {
			q.Filters[d] = c.Query(d)
		}
	}
	if err := q.Check(); err != nil {
		return errBadRequest("invalid_group_by", err.Error())
	}
	rates, err := report.ParseRates(p.settings.Rates, acct.DefaultCurrency)
	if err != nil {
		// Saved with another currency: report without conversion.
		rates, _ = report.ParseRates(nil, acct.DefaultCurrency)
	}
	res, err := s.reports.CampaignSums(c.UserContext(), acct.ID, q)
	if err != nil {
		return reportError(err)
	}
	r := report.Campaign(q, res, rates)
	if p.csv {
		return sendTable(c, "campaigns", report.CampaignTable(r))
	}
	return c.JSON(struct {
		periodView
		report.CampaignReport
	}{p.view(), r})
}

// reportError turns a store's refusal of a query into a 400.
func reportError(err error) error {
	if errors.Is(err, report.ErrBadQuery) {
		return errBadRequest("invalid_report_query", err.Error())
	}
	return err
}

// Logs (?limit=, ?cursor=, the period; all time by default).

// logQuery reads the filters every log shares; ?status= is the hit's
// status when hitStatus (the conversion log reads its own).
func (s *Server) logQuery(c *fiber.Ctx, p reportParams, hitStatus bool) (report.LogQuery, error) {
	q := report.LogQuery{Range: p.rng, Campaign: c.Query("campaign"), Source: c.Query("source"),
		Network: c.Query("network"), Zone: c.Query("zone"), Country: c.Query("country"), ClickID: c.Query("click_id"),
		TxID: c.Query("txid"), Goal: c.Query("goal"), OrderID: c.Query("order_id"), Webinar: c.Query("webinar")}
	var err error
	if q.Limit, err = pageLimit(c); err != nil {
		return q, err
	}
	if q.Before, err = report.ParseCursor(c.Query("cursor")); err != nil {
		return q, errBadRequest("invalid_cursor", "cursor is not one this API gave (send next_cursor back as it came)")
	}
	if st := c.Query("status"); st != "" && hitStatus {
		if !slices.Contains(hitStatuses, st) {
			return q, errBadRequest("invalid_status", "status is one of "+strings.Join(hitStatuses, ", "))
		}
		q.Statuses = []string{st}
	}
	return q, nil
}

var hitStatuses = []string{string(storage.StatusAccepted), string(storage.StatusUpdated), string(storage.StatusDuplicate),
	string(storage.StatusRejected), string(storage.StatusQueued)}

// convStatuses are the conversion log's ?status= values.
var convStatuses = []string{"pending", "approved", "declined", "chargeback"}

// logAnswer is a page of a log.
func logAnswer[T any](c *fiber.Ctx, p reportParams, name string, page storage.LogPage[T], table func([]T) report.Table) error {
	if p.csv {
		return sendTable(c, name, table(page.Entries))
	}
	return c.JSON(map[string]any{"from": p.view().From, "to": p.view().To, "tz": p.tz,
		name: page.Entries, "next_cursor": page.Next.String()})
}

// clickLog: the account's clicks, newest first (?campaign, ?source,
// ?network, ?zone, ?country, ?click_id, ?status).
func (s *Server) clickLog(c *fiber.Ctx) error {
	p, err := s.reportQuery(c, true)
	if err != nil {
		return err
	}
	q, err := s.logQuery(c, p, true)
	if err != nil {
		return err
	}
	page, err := storage.ClickLog(c.UserContext(), s.reports, account(c).ID, q)
	if err != nil {
		return reportError(err)
	}
	return logAnswer(c, p, "clicks", page, report.ClickTable)
}

// conversionEntry is a conversion with its outbound postbacks.
type conversionEntry struct {
	report.ConversionEntry
	Deliveries []deliveryView `json:"deliveries"`
}

// deliveryView is an outbound delivery as the conversion log shows it.
type deliveryView struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error"`
}

// maxConversionDeliveries bounds the deliveries shown per conversion (a
// status change each).
const maxConversionDeliveries = 20

// conversionLog: conversions whose first postback is in the period, newest
// first, each with its click, status history, payout and outbound
// postbacks (?campaign, ?network, ?zone, ?country, ?click_id, ?txid,
// ?goal, ?status: its status now).
func (s *Server) conversionLog(c *fiber.Ctx) error {
	p, err := s.reportQuery(c, true)
	if err != nil {
		return err
	}
	st := c.Query("status")
	q, err := s.logQuery(c, p, false)
	if err != nil {
		return err
	}
	if st != "" && !slices.Contains(convStatuses, st) {
		return errBadRequest("invalid_status", "status is one of "+strings.Join(convStatuses, ", "))
	}
	acct := account(c).ID
	page, err := storage.ConversionLog(c.UserContext(), s.reports, acct, q, st)
	if err != nil {
		return reportError(err)
	}
	if p.csv {
		return sendTable(c, "conversions", report.ConversionTable(page.Entries))
	}
	out := make([]conversionEntry, 0, len(page.Entries))
	for _, e := range page.Entries {
		ds, err := s.outbox.WithKeyPrefix(c.UserContext(), acct, outbox.KindPostback, storage.ConvKey(e.ClickID, e.TxID, e.Goal)+"|", maxConversionDeliveries)
		if err != nil {
			return err
		}
		views := make([]deliveryView, 0, len(ds))
		for i := range ds {
			redactDelivery(&ds[i])
			v := deliveryView{ID: ds[i].ID, Status: ds[i].Status, URL: ds[i].URL, CreatedAt: ds[i].CreatedAt, Attempts: ds[i].AttemptCount}
			if n := len(ds[i].Attempts); n > 0 {
				v.LastError = ds[i].Attempts[n-1].Error
			}
			views = append(views, v)
		}
		out = append(out, conversionEntry{e, views})
	}
	return c.JSON(map[string]any{"from": p.view().From, "to": p.view().To, "tz": p.tz,
		"conversions": out, "next_cursor": page.Next.String()})
}

// leadLog: lead-card submissions, newest first (?endpoint, ?status), with
// the attendee's email while the ledger knows it.
func (s *Server) leadLog(c *fiber.Ctx) error {
	p, err := s.reportQuery(c, true)
	if err != nil {
		return err
	}
	q, err := s.logQuery(c, p, true)
	if err != nil {
		return err
	}
	q.Source = c.Query("endpoint")
	acct := account(c).ID
	page, err := storage.LeadLog(c.UserContext(), s.reports, acct, q)
	if err != nil {
		return reportError(err)
	}
	emails := s.emailsOf(c.UserContext(), acct)
	for i := range page.Entries {
		if page.Entries[i].Email, err = emails(page.Entries[i].AttendeeID); err != nil {
			return err
		}
	}
	return logAnswer(c, p, "leads", page, report.LeadTable)
}

// purchaseLog: conversion pixel, backend and manual conversion hits,
// newest first (?webinar, ?order_id, ?status), with the attendee's email
// while the ledger knows it.
func (s *Server) purchaseLog(c *fiber.Ctx) error {
	p, err := s.reportQuery(c, true)
	if err != nil {
		return err
	}
	q, err := s.logQuery(c, p, true)
	if err != nil {
		return err
	}
	acct := account(c).ID
	page, err := storage.PurchaseLog(c.UserContext(), s.reports, acct, q)
	if err != nil {
		return reportError(err)
	}
	emails := s.emailsOf(c.UserContext(), acct)
	for i := range page.Entries {
		if page.Entries[i].Email, err = emails(page.Entries[i].AttendeeID); err != nil {
			return err
		}
	}
	return logAnswer(c, p, "purchases", page, report.PurchaseTable)
}

// emailsOf looks attendees up by id, once each: the stores keep hashes,
// the ledger the email (gone once the person is erased).
func (s *Server) emailsOf(ctx context.Context, account string) func(attendeeID string) (string, error) {
	seen := map[string]string{}
	return func(id string) (string, error) {
		if id == "" {
			return "", nil
		}
		if e, ok := seen[id]; ok {
			return e, nil
		}
		a, err := s.ledger.AttendeeByID(ctx, account, id)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return "", err
		}
		seen[id] = a.Email
		return a.Email, nil
	}
}
