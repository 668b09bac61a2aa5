package hitindex

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/pixelpost/pixelpost/internal/binenc"
	"github.com/pixelpost/pixelpost/report"
	"github.com/pixelpost/pixelpost/storage"
)

// A fact is what the reports add up and filter on of one row: a few dozen
// bytes, read without allocating, so that a report scans 100,000 of them
// in a few tens of milliseconds. The whole row (for the logs) is kept
// apart, in rows/.
//
// Encoding: a version byte, then the fields in the order of fact, strings
// and lists length-prefixed (binenc), numbers as varints.
const factVersion = 1

var errBadFact = errors.New("bad fact record")

type fact struct {
	kind, status, reason, currency string
	delta, cost                    int64
	campaign, source, network      string // the row's own ids
	// clickSource and clickNetwork are the source and network of the row's
	// click (looked up when a postback is indexed; a click's own), which
	// the campaign report groups by.
	clickSource, clickNetwork string
	zone, country             string
	clickID, txid, goal       string
	convStatus, orderID       string
	attendeeID, emailSHA256   string
	webinars                  []string
}

// newFact is the fact of a decided row.
func newFact(h *storage.Hit) fact {
	f := fact{kind: h.Kind, status: string(h.Status), reason: h.Reason, currency: h.Currency,
		delta: int64(h.Delta), cost: int64(h.Cost), campaign: h.CampaignID, source: h.SourceID, network: h.NetworkID,
		zone: report.Zone(h.Macros), country: report.Country(h.Macros), clickID: h.ClickID, txid: h.TxID,
		goal: h.Goal, convStatus: h.ConvStatus, orderID: h.OrderID, attendeeID: h.AttendeeID,
		emailSHA256: h.EmailSHA256, webinars: h.WebinarIDs()}
	if h.Kind == storage.KindClick {
		f.clickSource, f.clickNetwork = h.SourceID, h.NetworkID
	}
	return f
}

func (f *fact) encode(dst []byte) []byte {
	dst = append(dst, factVersion)
	for _, s := range [...]string{f.kind, f.status, f.reason, f.currency} {
		dst = binenc.AppendString(dst, s)
	}
	dst = binary.AppendVarint(dst, f.delta)
	dst = binary.AppendVarint(dst, f.cost)
	for _, s := range [...]string{f.campaign, f.source, f.network, f.clickSource, f.clickNetwork, f.zone, f.country,
		f.clickID, f.txid, f.goal, f.convStatus, f.orderID, f.attendeeID, f.emailSHA256} {
		dst = binenc.AppendString(dst, s)
	}
	return binenc.AppendStrings(dst, f.webinars)
}

// decodeFact reads a fact whose strings alias b: it is valid only as long
// as b is (within the bbolt transaction that read it). Clone what is kept.
// webinars is reused for the list.
func decodeFact(b []byte, f *fact) error {
	if len(b) == 0 || b[0] != factVersion {
		return fmt.Errorf("%w: unknown version", errBadFact)
	}
	d := rawDecoder{b: b[1:]}
	f.kind, f.status, f.reason, f.currency = d.str(), d.str(), d.str(), d.str()
	f.delta, f.cost = d.varint(), d.varint()
	f.campaign, f.source, f.network = d.str(), d.str(), d.str()
	f.clickSource, f.clickNetwork, f.zone, f.country = d.str(), d.str(), d.str(), d.str()
	f.clickID, f.txid, f.goal, f.convStatus, f.orderID = d.str(), d.str(), d.str(), d.str(), d.str()
	f.attendeeID, f.emailSHA256 = d.str(), d.str()
	n := d.uvarint()
	f.webinars = f.webinars[:0]
	for i := uint64(0); i < n && !d.bad; i++ {
		f.webinars = append(f.webinars, d.str())
	}
	if d.bad || len(d.b) != 0 {
		return fmt.Errorf("%w: truncated or trailing bytes", errBadFact)
	}
	return nil
}

// rawDecoder reads binenc fields without copying: its strings alias b.
type rawDecoder struct {
	b   []byte
	bad bool
}

func (d *rawDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *rawDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *rawDecoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return ""
	}
	s := aliasString(d.b[:n])
	d.b = d.b[n:]
	return s
}

// logFields is what a log query reads of the fact of the row at ms.
func (f *fact) logFields(ms int64) report.LogFields {
	return report.LogFields{Millis: ms, Kind: f.kind, Status: f.status, Campaign: f.campaign, Source: f.source,
		Network: f.network, ClickID: f.clickID, TxID: f.txid, Goal: f.goal, OrderID: f.orderID,
		Zone: f.zone, Country: f.country, Webinars: f.webinars}
}

// aliasString is b as a string without a copy: valid as long as b is.
func aliasString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
