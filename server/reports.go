package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage/clickhouse"
)

// errNeedsClickHouse answers the reports that read raw hits when this node
// has no ClickHouse (the embedded default): the ledger-based stats still
// work, and the message says what to configure.
var errNeedsClickHouse = &apiError{http.StatusNotImplemented, "clickhouse_required",
	"this report reads raw hits from ClickHouse: start pixelpost with --clickhouse-dsn (the webinar stats endpoint works without it)"}

// reportParams are what every ClickHouse report reads from its query.
type reportParams struct {
	from, to time.Time
	tz       string // IANA zone name of day buckets
}

// reportQuery checks that ClickHouse is there and reads from and to
// (RFC 3339 or YYYY-MM-DD; to defaults to now, from to 30 days before it)
// and tz (an IANA zone name, default UTC).
func (s *Server) reportQuery(c *fiber.Ctx) (reportParams, error) {
	var p reportParams
	if s.clickhouse == nil {
		return p, errNeedsClickHouse
	}
	p.tz = c.Query("tz", "UTC")
	loc, err := time.LoadLocation(p.tz)
	if err != nil {
		return p, errBadRequest("invalid_tz", "tz is not an IANA time zone name")
	}
	// A date is a whole day in tz: from its start, to its end (the day
	// after's start, which the queries exclude).
	parse := func(name string, def time.Time, days int) (time.Time, error) {
		v := c.Query(name)
		if v == "" {
			return def, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
			return t.AddDate(0, 0, days), nil
		}
		return time.Time{}, errBadRequest("invalid_"+name, name+" is not RFC 3339 or YYYY-MM-DD")
	}
	if p.to, err = parse("to", s.now(), 1); err != nil {
		return p, err
	}
	if p.from, err = parse("from", p.to.AddDate(0, 0, -30), 0); err != nil {
		return p, err
	}
	return p, nil
}

// moneyView formats micro-units per currency as decimal strings.
func moneyView(m map[string]int64) map[string]string {
	out := make(map[string]string, len(m))
	for cur, v := range m {
		out[cur] = attribution.FormatAmount(attribution.Micros(v), cur)
	}
	return out
}

type dayView struct {
	Day         string            `json:"day"`
	Registrants int64             `json:"registrants"`
	Sales       int64             `json:"sales"`
	Conversions int64             `json:"conversions"`
	Revenue     map[string]string `json:"revenue"`
}

// webinarSeries: a webinar's registrants, sales, conversions and revenue
// per currency per day, in the time zone asked (?tz=Europe/Paris).
func (s *Server) webinarSeries(c *fiber.Ctx) error {
	q, err := s.reportQuery(c)
	if err != nil {
		return err
	}
	points, err := s.clickhouse.WebinarSeries(c.UserContext(), account(c).ID, c.Params("webinar"), q.from, q.to, q.tz)
	if err != nil {
		return err
	}
	days := make([]dayView, 0, len(points))
	for _, p := range points {
		days = append(days, dayView{Day: p.Day, Registrants: p.Registrants, Sales: p.Sales, Conversions: p.Conversions, Revenue: moneyView(p.Revenue)})
	}
	return c.JSON(fiber.Map{"webinar_id": c.Params("webinar"), "tz": q.tz, "from": q.from, "to": q.to, "days": days})
}

type statusView struct {
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

// hitsByStatus: how many hits of each kind were accepted, updated,
// duplicate or rejected, and why: what a user reads when a conversion did
// not count.
func (s *Server) hitsByStatus(c *fiber.Ctx) error {
	q, err := s.reportQuery(c)
	if err != nil {
		return err
	}
	counts, err := s.clickhouse.HitsByStatus(c.UserContext(), account(c).ID, q.from, q.to)
	if err != nil {
		return err
	}
	out := make([]statusView, 0, len(counts))
	for _, sc := range counts {
		out = append(out, statusView{Kind: sc.Kind, Status: sc.Status, Reason: sc.Reason, Count: sc.Count})
	}
	return c.JSON(fiber.Map{"from": q.from, "to": q.to, "hits": out})
}

type campaignRowView struct {
	Group       map[string]string  `json:"group"`
	Clicks      int64              `json:"clicks"`
	Conversions int64              `json:"conversions"`
	Approved    int64              `json:"approved"`
	CR          float64            `json:"cr"`
	Revenue     map[string]string  `json:"revenue"`
	Cost        map[string]string  `json:"cost"`
	Profit      map[string]string  `json:"profit"`
	EPC         map[string]string  `json:"epc"`
	ROI         map[string]float64 `json:"roi"`
}

// campaignReport: clicks, conversions, CR, revenue, cost, profit, ROI and
// EPC per currency, grouped by any of campaign, source, network, zone,
// country and day (?group_by=campaign,zone&from=&to=&tz=).
func (s *Server) campaignReport(c *fiber.Ctx) error {
	q, err := s.reportQuery(c)
	if err != nil {
		return err
	}
	groupBy := splitList(c.Query("group_by", "campaign"))
	rows, err := s.clickhouse.CampaignReport(c.UserContext(), account(c).ID, groupBy, q.from, q.to, q.tz)
	if errors.Is(err, clickhouse.ErrBadGroupBy) {
		return errBadRequest("invalid_group_by", fmt.Sprintf("group_by takes %s", strings.Join(clickhouse.GroupBys, ", ")))
	}
	if err != nil {
		return err
	}
	out := make([]campaignRowView, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		g := make(map[string]string, len(groupBy))
		for _, dim := range groupBy {
			g[dim] = r.Group(dim)
		}
		out = append(out, campaignRowView{Group: g, Clicks: r.Clicks, Conversions: r.Conversions, Approved: r.Approved,
			CR: r.CR, Revenue: moneyView(r.Revenue), Cost: moneyView(r.Cost), Profit: moneyView(r.Profit), EPC: moneyView(r.EPC), ROI: r.ROI})
	}
	return c.JSON(fiber.Map{"from": q.from, "to": q.to, "tz": q.tz, "group_by": groupBy, "rows": out})
}
