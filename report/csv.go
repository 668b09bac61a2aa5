package report

import (
	"strconv"
	"strings"
	"time"
)

// Table is a report as CSV cells: a header and rows of the same width. The
// caller writes it with audience.WriteCSV, which neutralises formulas.
type Table struct {
	Header []string
	Rows   [][]string
}

// CampaignTable is the campaign report as a table: one line per row, then
// a "total" line; per-currency figures in columns named after the currency
// (revenue_USD, ...), converted ones after them. Percentages are in the
// columns whose name ends in _percent.
func CampaignTable(r CampaignReport) Table {
	curs := map[string]bool{}
	for _, row := range append(r.Rows, r.Totals) {
		for _, m := range []map[string]string{row.Revenue, row.Cost, row.Profit} {
			for c := range m {
				curs[c] = true
			}
		}
	}
	currencies := sortedKeys(curs)
	t := Table{Header: append([]string{"line"}, r.GroupBy...)}
	t.Header = append(t.Header, "clicks", "conversions", "approved", "pending", "declined", "chargeback", "cr_percent")
	for _, c := range currencies {
		t.Header = append(t.Header, "revenue_"+c, "cost_"+c, "profit_"+c, "epc_"+c, "cpc_"+c, "roi_percent_"+c)
	}
	t.Header = append(t.Header, "converted_currency", "converted_revenue", "converted_cost", "converted_profit",
		"converted_epc", "converted_cpc", "converted_roi_percent", "rates")
	line := func(kind string, row CampaignRow) []string {
		cells := []string{kind}
		for _, d := range r.GroupBy {
			cells = append(cells, row.Group[d])
		}
		cells = append(cells, itoa(row.Clicks), itoa(row.Conversions), itoa(row.Approved), itoa(row.Pending),
			itoa(row.Declined), itoa(row.Chargeback), deref(row.CR))
		for _, c := range currencies {
			cells = append(cells, row.Revenue[c], row.Cost[c], row.Profit[c], row.EPC[c], row.CPC[c], row.ROI[c])
		}
		if cv := row.Converted; cv != nil {
			cells = append(cells, cv.Currency, cv.Revenue, cv.Cost, cv.Profit, deref(cv.EPC), deref(cv.CPC), deref(cv.ROI), pairs(cv.Rates))
		} else {
			cells = append(cells, "", "", "", "", "", "", "", "")
		}
		return cells
	}
	for _, row := range r.Rows {
		t.Rows = append(t.Rows, line("row", row))
	}
	t.Rows = append(t.Rows, line("total", r.Totals))
	return t
}

// SeriesTable is a webinar's days as a table, revenue per currency.
func SeriesTable(days []DayView) Table {
	curs := map[string]bool{}
	for _, d := range days {
		for c := range d.Revenue {
			curs[c] = true
		}
	}
	currencies := sortedKeys(curs)
	t := Table{Header: []string{"day", "registrants", "sales", "conversions"}}
	for _, c := range currencies {
		t.Header = append(t.Header, "revenue_"+c)
	}
	for _, d := range days {
		cells := []string{d.Day, itoa(d.Registrants), itoa(d.Sales), itoa(d.Conversions)}
		for _, c := range currencies {
			cells = append(cells, d.Revenue[c])
		}
		t.Rows = append(t.Rows, cells)
	}
	return t
}

// StatusTable is hits by status as a table.
func StatusTable(counts []StatusView) Table {
	t := Table{Header: []string{"kind", "status", "reason", "count"}}
	for _, c := range counts {
		t.Rows = append(t.Rows, []string{c.Kind, c.Status, c.Reason, itoa(c.Count)})
	}
	return t
}

// ClickTable is a page of the click log as a table.
func ClickTable(es []ClickEntry) Table {
	t := Table{Header: []string{"time", "hit_id", "status", "reason", "click_id", "campaign", "source", "network",
		"zone", "country", "cost", "currency", "macros", "ip", "user_agent", "referer"}}
	for _, e := range es {
		t.Rows = append(t.Rows, []string{stamp(e.Time), e.HitID, e.Status, e.Reason, e.ClickID, e.Campaign, e.Source,
			e.Network, e.Zone, e.Country, e.Cost.Amount, e.Cost.Currency, pairs(e.Macros), e.IP, e.UA, e.Referer})
	}
	return t
}

// ConversionTable is a page of the conversion log as a table; the status
// history is one cell ("time status payout; ...").
func ConversionTable(es []ConversionEntry) Table {
	t := Table{Header: []string{"time", "click_id", "click_time", "campaign", "source", "network", "zone", "country",
		"goal", "txid", "status", "raw_status", "payout", "currency", "revenue", "macros", "history"}}
	for _, e := range es {
		click := ""
		if e.ClickTime != nil {
			click = stamp(*e.ClickTime)
		}
		steps := make([]string, 0, len(e.History))
		for _, s := range e.History {
			steps = append(steps, stamp(s.Time)+" "+s.ConvStatus+" "+s.Payout.Amount+" "+s.Payout.Currency)
		}
		t.Rows = append(t.Rows, []string{stamp(e.Time), e.ClickID, click, e.Campaign, e.Source, e.Network, e.Zone,
			e.Country, e.Goal, e.TxID, e.Status, e.RawStatus, e.Payout.Amount, e.Payout.Currency, moneyCell(e.Revenue),
			pairs(e.Macros), strings.Join(steps, "; ")})
	}
	return t
}

// LeadTable is a page of the lead log as a table.
func LeadTable(es []LeadEntry) Table {
	t := Table{Header: []string{"time", "hit_id", "status", "reason", "endpoint", "attendee_id", "email_sha256", "email", "query"}}
	for _, e := range es {
		t.Rows = append(t.Rows, []string{stamp(e.Time), e.HitID, e.Status, e.Reason, e.Endpoint, e.AttendeeID,
			e.EmailSHA256, e.Email, e.Query})
	}
	return t
}

// PurchaseTable is a page of the purchase log as a table.
func PurchaseTable(es []PurchaseEntry) Table {
	t := Table{Header: []string{"time", "hit_id", "kind", "status", "reason", "order_id", "product_id", "product_name",
		"amount", "currency", "delta", "webinars", "source", "attendee_id", "email_sha256", "email"}}
	for _, e := range es {
		t.Rows = append(t.Rows, []string{stamp(e.Time), e.HitID, e.Kind, e.Status, e.Reason, e.OrderID, e.ProductID,
			e.ProductName, e.Amount.Amount, e.Amount.Currency, e.Delta, strings.Join(e.Webinars, " "), e.Source,
			e.AttendeeID, e.EmailSHA256, e.Email})
	}
	return t
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// pairs renders a map as "k=v k=v", sorted by key.
func pairs(m map[string]string) string {
	keys := sortedKeys(m)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + m[k]
	}
	return strings.Join(out, " ")
}

// moneyCell renders per-currency money as "99.98 USD; 10.00 EUR".
func moneyCell(m map[string]string) string {
	keys := sortedKeys(m)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = m[k] + " " + k
	}
	return strings.Join(out, "; ")
}
