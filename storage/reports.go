package storage

import (
	"context"
	"slices"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/report"
)

// Reports answers the reports that read raw hits (SPEC §4, §5): ClickHouse
// (storage/clickhouse) and, on the embedded default, the hit index
// (storage/hitindex). A store adds up and filters; the figures, rounding
// and answers are computed once, by package report and the log builders
// below, so that both stores fed the same hits answer the same JSON
// (storage/reportstest checks it). Every method is safe for concurrent use.
type Reports interface {
	// CampaignSums adds up the campaign report (report.CampaignSums says
	// what counts), grouped by q.GroupBy and filtered by q.Filters, with
	// the totals. q has been checked (q.Check).
	CampaignSums(ctx context.Context, account string, q report.CampaignQuery) (report.CampaignResult, error)
	// WebinarSeries returns the days of [r.From, r.To) with hits that
	// credit the webinar, in tz (an IANA name; "" is UTC).
	WebinarSeries(ctx context.Context, account, webinarID string, r report.Range, tz string) ([]report.DayPoint, error)
	// HitsByStatus counts the account's hits in r by kind, status and reason.
	HitsByStatus(ctx context.Context, account string, r report.Range) ([]report.StatusCount, error)
	// LogRows returns up to q.Limit rows matching q (report.LogQuery),
	// newest first: by time (milliseconds), then hit id, descending.
	LogRows(ctx context.Context, account string, q report.LogQuery) ([]Hit, error)
	// ClickRows returns the accepted clicks with these ids and every
	// postback that created or changed one of their conversions (accepted,
	// updated), whatever their time, oldest first.
	ClickRows(ctx context.Context, account string, clickIDs []string) ([]Hit, error)
}

// ReportTime is a hit's time as the reports keep it: milliseconds, UTC,
// never before 1970 (the hits table's ts_ms).
func ReportTime(t time.Time) time.Time {
	return time.UnixMilli(max(t.UnixMilli(), 0)).UTC()
}

// IsDegradedReplay reports the copy of a hit a crash replay writes when
// the ledger no longer remembers its first result (duplicate,
// replayed_hit): a store that holds the hit's original row keeps it.
func (h *Hit) IsDegradedReplay() bool {
	return h.Status == StatusDuplicate && h.Reason == ReasonReplayedHit
}

// LogPage is one page of a log and the cursor of the next ("" zero when
// the page was not full: nothing older matches).
type LogPage[T any] struct {
	Entries []T
	Next    report.Cursor
}

// cursorOf is the position of a row in a log.
func cursorOf(h *Hit) report.Cursor {
	return report.Cursor{Millis: ReportTime(h.Time).UnixMilli(), HitID: h.ID}
}

func limitOf(q report.LogQuery) int {
	if q.Limit <= 0 {
		return report.DefaultLogLimit
	}
	return min(q.Limit, report.MaxLogLimit)
}

// page reads one page of rows of q and maps them with fn.
func page[T any](ctx context.Context, src Reports, account string, q report.LogQuery, fn func(*Hit) T) (LogPage[T], error) {
	q.Limit = limitOf(q)
	rows, err := src.LogRows(ctx, account, q)
	if err != nil {
		return LogPage[T]{}, err
	}
	p := LogPage[T]{Entries: make([]T, 0, len(rows))}
	for i := range rows {
		p.Entries = append(p.Entries, fn(&rows[i]))
	}
	if len(rows) == q.Limit {
		p.Next = cursorOf(&rows[len(rows)-1])
	}
	return p, nil
}

// ClickLog is a page of the click log: clicks of every status matching
// q's filters (campaign, source, network, zone, country, click id).
func ClickLog(ctx context.Context, src Reports, account string, q report.LogQuery) (LogPage[report.ClickEntry], error) {
	q.Kinds = []string{KindClick}
	return page(ctx, src, account, q, clickEntry)
}

func clickEntry(h *Hit) report.ClickEntry {
	return report.ClickEntry{Time: ReportTime(h.Time), HitID: h.ID, Status: string(h.Status), Reason: h.Reason,
		ClickID: h.ClickID, Campaign: h.CampaignID, Source: h.SourceID, Network: h.NetworkID,
		Zone: report.Zone(h.Macros), Country: report.Country(h.Macros),
		Cost:   report.Money{Amount: attribution.FormatAmount(h.Cost, h.Currency), Currency: h.Currency},
		Macros: nonNil(h.Macros), IP: h.IP, UA: h.UserAgent, Referer: h.Referer}
}

// LeadLog is a page of the lead log: lead hits of every status (q.Source
// filters by lead endpoint).
func LeadLog(ctx context.Context, src Reports, account string, q report.LogQuery) (LogPage[report.LeadEntry], error) {
	q.Kinds = []string{KindLead}
	return page(ctx, src, account, q, func(h *Hit) report.LeadEntry {
		return report.LeadEntry{Time: ReportTime(h.Time), HitID: h.ID, Status: string(h.Status), Reason: h.Reason,
			Endpoint: h.SourceID, AttendeeID: h.AttendeeID, EmailSHA256: h.EmailSHA256, Query: h.Query}
	})
}

// PurchaseLog is a page of the purchase log: conversion pixel and manual
// conversion hits of every status (q.Webinar: those crediting, or naming,
// that webinar; q.OrderID: one order's sightings).
func PurchaseLog(ctx context.Context, src Reports, account string, q report.LogQuery) (LogPage[report.PurchaseEntry], error) {
	q.Kinds = []string{KindPixel, KindManual}
	return page(ctx, src, account, q, func(h *Hit) report.PurchaseEntry {
		e := report.PurchaseEntry{Time: ReportTime(h.Time), HitID: h.ID, Kind: h.Kind, Status: string(h.Status),
			Reason: h.Reason, OrderID: h.OrderID, ProductID: h.ProductID, ProductName: h.ProductName,
			Amount: report.Money{Currency: h.Currency}, Delta: attribution.FormatAmount(h.Delta, h.Currency),
			Webinars: nonNilList(h.WebinarIDs()), Source: h.Source, AttendeeID: h.AttendeeID, EmailSHA256: h.EmailSHA256}
		if h.HasAmount {
			e.Amount.Amount = attribution.FormatAmount(h.Amount, h.Currency)
		}
		return e
	})
}

// ConversionLog is a page of the conversion log: conversions whose first
// postback matches q (in its period, with its filters), newest first, each
// with its click and its whole history. convStatus, if set, keeps those
// whose status after their latest postback is that one; the page is then
// filled by reading further (it may be followed by an empty page).
func ConversionLog(ctx context.Context, src Reports, account string, q report.LogQuery, convStatus string) (LogPage[report.ConversionEntry], error) {
	q.Kinds, q.Statuses = []string{KindPostback}, []string{string(StatusAccepted)}
	limit := limitOf(q)
	q.Limit = limit
	out := LogPage[report.ConversionEntry]{Entries: []report.ConversionEntry{}}
	for {
		rows, err := src.LogRows(ctx, account, q)
		if err != nil {
			return out, err
		}
		entries, err := conversionEntries(ctx, src, account, rows)
		if err != nil {
			return out, err
		}
		for i := range entries {
			if convStatus != "" && entries[i].Status != convStatus {
				continue
			}
			out.Entries = append(out.Entries, entries[i])
			if len(out.Entries) == limit {
				out.Next = cursorOf(&rows[i])
				return out, nil
			}
		}
		if len(rows) < q.Limit {
			return out, nil
		}
		q.Before = cursorOf(&rows[len(rows)-1])
	}
}

// conversionEntries builds the entries of the conversions created by rows
// (their first postbacks), in the order of rows.
func conversionEntries(ctx context.Context, src Reports, account string, created []Hit) ([]report.ConversionEntry, error) {
	if len(created) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(created))
	for i := range created {
		ids = append(ids, created[i].ClickID)
	}
	slices.Sort(ids)
	history, err := src.ClickRows(ctx, account, slices.Compact(ids))
	if err != nil {
		return nil, err
	}
	clicks := map[string]*Hit{}
	steps := map[string][]*Hit{}
	for i := range history {
		h := &history[i]
		switch {
		case h.Kind == KindClick && h.Status == StatusAccepted:
			clicks[h.ClickID] = h
		case h.Kind == KindPostback && (h.Status == StatusAccepted || h.Status == StatusUpdated):
			k := ConvKey(h.ClickID, h.TxID, h.Goal)
			steps[k] = append(steps[k], h)
		}
	}
	out := make([]report.ConversionEntry, 0, len(created))
	for i := range created {
		c := &created[i]
		e := report.ConversionEntry{Time: ReportTime(c.Time), ClickID: c.ClickID, Campaign: c.CampaignID,
			Network: c.NetworkID, Zone: report.Zone(c.Macros), Country: report.Country(c.Macros),
			Macros: nonNil(c.Macros), Goal: c.Goal, TxID: c.TxID, Revenue: map[string]string{}, History: []report.ConversionStep{}}
		if k := clicks[c.ClickID]; k != nil {
			t := ReportTime(k.Time)
			e.ClickTime, e.Source = &t, k.SourceID
			if k.NetworkID != "" {
				e.Network = k.NetworkID
			}
		}
		hist := steps[ConvKey(c.ClickID, c.TxID, c.Goal)]
		if len(hist) == 0 {
			hist = []*Hit{c} // the store has its first postback only
		}
		revenue := map[string]int64{}
		for _, s := range hist {
			e.History = append(e.History, report.ConversionStep{Time: ReportTime(s.Time), HitID: s.ID, Status: string(s.Status),
				ConvStatus: s.ConvStatus, RawStatus: s.RawStatus, Network: s.NetworkID,
				Payout: report.Money{Amount: attribution.FormatAmount(s.Amount, s.Currency), Currency: s.Currency},
				Delta:  attribution.FormatAmount(s.Delta, s.Currency)})
			revenue[s.Currency] += int64(s.Delta)
		}
		last := hist[len(hist)-1]
		e.Status, e.RawStatus = last.ConvStatus, last.RawStatus
		e.Payout = report.Money{Amount: attribution.FormatAmount(last.Amount, last.Currency), Currency: last.Currency}
		for cur, v := range revenue {
			e.Revenue[cur] = attribution.FormatAmount(attribution.Micros(v), cur)
		}
		out = append(out, e)
	}
	return out, nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
