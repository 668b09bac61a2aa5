package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// Inserter starts inserts into the hits table. *Client is the one
// implementation; tests of the Shipper wrap it.
type Inserter interface {
	// newInsert prepares an INSERT of every column of hitColumns that
	// holds no connection until its Send (or Abort), which run under ctx.
	newInsert(ctx context.Context) (driver.Batch, error)
}

// versionOf is the ReplacingMergeTree version of a row: 0 for the degraded
// copy a crash replay writes (duplicate, replayed_hit), so that the
// original row of the hit, version 1, wins.
func versionOf(h *storage.Hit) uint8 {
	if h.IsDegradedReplay() {
		return 0
	}
	return 1
}

// columnNames is the column list of hitColumns, comma-separated.
func columnNames() string {
	names := make([]string, len(hitColumns))
	for i, c := range hitColumns {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// insertSQL names every column: 18.16 (and safe practice) wants it.
var insertSQL = "INSERT INTO hits (" + columnNames() + ")"

// Insert writes hits as one INSERT (one block). It is idempotent in the
// reports: inserting a hit again adds a row the queries' FINAL removes.
// The local-only fields (Email, CookieID) are never sent. hits is not
// retained.
//
// On error nothing or everything may have been written (the outcome of a
// broken connection is unknown): retry the same hits.
func (c *Client) Insert(ctx context.Context, hits []storage.Hit) error {
	if len(hits) == 0 {
		return nil
	}
	b, err := c.newInsert(ctx)
	if err != nil {
		return err
	}
	// Abort releases what the batch holds if anything below fails; after
	// a successful Send it does nothing.
	defer b.Abort()
	rows := newRowChunk(min(len(hits), chunkRows))
	for i := range hits {
		rows.add(&hits[i])
		if rows.len() == chunkRows || i == len(hits)-1 {
			if err := appendChunk(b, rows); err != nil {
				return err
			}
			rows.reset()
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("cannot insert %d hits: %w", len(hits), err)
	}
	return nil
}

func (c *Client) newInsert(ctx context.Context) (driver.Batch, error) {
	b, err := c.conn.PrepareBatch(c.insertContext(ctx), insertSQL, driver.WithReleaseConnection())
	if err != nil {
		return nil, fmt.Errorf("cannot prepare insert: %w", err)
	}
	return b, nil
}

// appendChunk appends the rows of a chunk to an INSERT's columns (the
// driver copies them into its column buffers).
func appendChunk(b driver.Batch, rows *rowChunk) error {
	for i, v := range rows.values() {
		if err := b.Column(i).Append(v); err != nil {
			return fmt.Errorf("cannot append %d rows to column %s: %w", rows.len(), hitColumns[i].name, err)
		}
	}
	return nil
}

// rowChunk holds a few rows column by column, filled one row at a time
// (add), then appended to an INSERT a whole column at a time
// (appendChunk): far faster than the driver's row-by-row Append with
// reflection. Its strings are those of the hits added (for the Shipper,
// those of each decoded record: one allocation per row, see
// storage.DecodeHit). Not safe for concurrent use.
type rowChunk struct {
	hitID, account, kind, status, reason, tag, orderID, currency,
	attendeeID, emailSHA256, clickID, campaignID, ip, userAgent, referer,
	query, orderKey, productID, productName, source, sourceID, networkID,
	goal, txid, convStatus, rawStatus []string
	ts                     []int64 // seconds: the driver's DateTime takes them as they are
	tsMS                   []uint64
	webinarIDs             [][]string
	macroKeys, macroValues [][]string
	amount, delta, cost    []int64
	hasAmount              []uint8
	version                []uint8
}

// newRowChunk returns an empty chunk with room for n rows; it grows past
// them as needed.
func newRowChunk(n int) *rowChunk {
	s := func() []string { return make([]string, 0, n) }
	return &rowChunk{
		hitID: s(), account: s(), kind: s(), status: s(), reason: s(), tag: s(),
		orderID: s(), currency: s(), attendeeID: s(), emailSHA256: s(),
		clickID: s(), campaignID: s(), ip: s(), userAgent: s(), referer: s(),
		query: s(), orderKey: s(), productID: s(), productName: s(), source: s(),
		sourceID: s(), networkID: s(), goal: s(), txid: s(), convStatus: s(), rawStatus: s(),
		ts: make([]int64, 0, n), tsMS: make([]uint64, 0, n),
		webinarIDs: make([][]string, 0, n),
		macroKeys:  make([][]string, 0, n), macroValues: make([][]string, 0, n),
		amount: make([]int64, 0, n), delta: make([]int64, 0, n), cost: make([]int64, 0, n),
		hasAmount: make([]uint8, 0, n), version: make([]uint8, 0, n),
	}
}

// len is the number of rows.
func (s *rowChunk) len() int { return len(s.hitID) }

// reset empties the chunk and keeps its capacity; the strings it held are
// dropped, for the collector.
func (s *rowChunk) reset() {
	for _, c := range s.strings() {
		clear(*c)
		*c = (*c)[:0]
	}
	for _, c := range [...]*[][]string{&s.webinarIDs, &s.macroKeys, &s.macroValues} {
		clear(*c)
		*c = (*c)[:0]
	}
	s.ts, s.tsMS = s.ts[:0], s.tsMS[:0]
	s.amount, s.delta, s.cost = s.amount[:0], s.delta[:0], s.cost[:0]
	s.hasAmount, s.version = s.hasAmount[:0], s.version[:0]
}

func (s *rowChunk) strings() [26]*[]string {
	return [...]*[]string{&s.hitID, &s.account, &s.kind, &s.status, &s.reason, &s.tag,
		&s.orderID, &s.currency, &s.attendeeID, &s.emailSHA256, &s.clickID, &s.campaignID,
		&s.ip, &s.userAgent, &s.referer, &s.query, &s.orderKey, &s.productID, &s.productName,
		&s.source, &s.sourceID, &s.networkID, &s.goal, &s.txid, &s.convStatus, &s.rawStatus}
}

// add appends one hit; h is not retained (its strings are). Email and
// CookieID are deliberately absent, and so are ClickTTL, Valuation,
// PrevConvStatus and PrevValue (ledger state, not report data).
func (s *rowChunk) add(h *storage.Hit) {
	ms := h.Time.UnixMilli()
	if ms < 0 {
		ms = 0 // DateTime cannot hold times before 1970; a zero Time lands here
	}
	webinars := h.WebinarIDs()
	if webinars == nil {
		webinars = []string{}
	}
	var hasAmount uint8
	if h.HasAmount {
		hasAmount = 1
	}
	s.hitID = append(s.hitID, h.ID)
	s.ts = append(s.ts, ms/1000)
	s.tsMS = append(s.tsMS, uint64(ms))
	s.account = append(s.account, h.Account)
	s.kind = append(s.kind, h.Kind)
	s.status = append(s.status, string(h.Status))
	s.reason = append(s.reason, h.Reason)
	s.webinarIDs = append(s.webinarIDs, webinars)
	s.tag = append(s.tag, strings.Join(h.Tags, ","))
	s.orderID = append(s.orderID, h.OrderID)
	s.amount = append(s.amount, int64(h.Amount))
	s.delta = append(s.delta, int64(h.Delta))
	s.currency = append(s.currency, h.Currency)
	s.attendeeID = append(s.attendeeID, h.AttendeeID)
	s.emailSHA256 = append(s.emailSHA256, h.EmailSHA256)
	s.clickID = append(s.clickID, h.ClickID)
	s.campaignID = append(s.campaignID, h.CampaignID)
	s.ip = append(s.ip, h.IP)
	s.userAgent = append(s.userAgent, h.UserAgent)
	s.referer = append(s.referer, h.Referer)
	s.query = append(s.query, h.Query)
	s.orderKey = append(s.orderKey, h.OrderKey)
	s.hasAmount = append(s.hasAmount, hasAmount)
	s.productID = append(s.productID, h.ProductID)
	s.productName = append(s.productName, h.ProductName)
	s.source = append(s.source, h.Source)
	keys, values := macroArrays(h.Macros)
	s.macroKeys = append(s.macroKeys, keys)
	s.macroValues = append(s.macroValues, values)
	s.cost = append(s.cost, int64(h.Cost))
	s.sourceID = append(s.sourceID, h.SourceID)
	s.networkID = append(s.networkID, h.NetworkID)
	s.goal = append(s.goal, h.Goal)
	s.txid = append(s.txid, h.TxID)
	s.convStatus = append(s.convStatus, h.ConvStatus)
	s.rawStatus = append(s.rawStatus, h.RawStatus)
	s.version = append(s.version, versionOf(h))
}

// values returns the columns in hitColumns order.
func (s *rowChunk) values() [len(hitColumns)]any {
	return [...]any{
		s.hitID, s.ts, s.tsMS, s.account, s.kind, s.status, s.reason,
		s.webinarIDs, s.tag, s.orderID, s.amount, s.delta, s.currency,
		s.attendeeID, s.emailSHA256, s.clickID, s.campaignID, s.ip,
		s.userAgent, s.referer, s.query, s.orderKey, s.hasAmount,
		s.productID, s.productName, s.source, s.macroKeys, s.macroValues,
		s.cost, s.sourceID, s.networkID, s.goal, s.txid, s.convStatus,
		s.rawStatus, s.version,
	}
}

// macroArrays is the macro_keys and macro_values columns: the macros
// sorted by key, never nil. Values the raw query would redact (a sensitive
// name such as email or token, or a value holding an '@': see
// attribution.RedactQuery) are stored as REDACTED, so that an email a
// traffic source passes in a macro never reaches ClickHouse.
func macroArrays(m map[string]string) (keys, values []string) {
	if len(m) == 0 {
		return noStrings, noStrings
	}
	keys = make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	values = make([]string, len(keys))
	for i, k := range keys {
		values[i] = m[k]
		if sensitiveMacro(k, values[i]) {
			values[i] = redacted
		}
	}
	return keys, values
}

const redacted = "REDACTED"

// noStrings is the empty array of every row without macros: shared, as
// the driver only reads it.
var noStrings = []string{}

// sensitiveMacro applies RedactQuery's rule to one macro.
func sensitiveMacro(k, v string) bool { return attribution.SensitiveParam(k, v) }
