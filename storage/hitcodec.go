package storage

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
)

// The write-ahead logs store hits in a compact binary form: a version
// byte, then every field in declaration order; strings and lists are
// length-prefixed (uvarint), numbers are varints. A new field is appended
// at the end under a new version, so old logs stay readable.
const hitCodecVersion = 2

// minCodecVersion is the oldest encoding DecodeHit still reads (version 1
// lacks the S2S fields).
const minCodecVersion = 1

// ErrBadHit: a log record does not decode as a Hit.
var ErrBadHit = errors.New("bad hit record")

// AppendHit appends the encoding of h to dst.
func AppendHit(dst []byte, h *Hit) []byte {
	dst = append(dst, hitCodecVersion)
	dst = appendStr(dst, h.ID)
	dst = binary.AppendVarint(dst, h.Time.UnixNano())
	dst = appendStr(dst, h.Account)
	dst = appendStr(dst, h.Kind)
	dst = appendStr(dst, string(h.Status))
	dst = appendStr(dst, h.Reason)
	dst = appendList(dst, h.Webinars)
	dst = appendList(dst, h.Tags)
	dst = appendStr(dst, h.OrderID)
	dst = appendStr(dst, h.OrderKey)
	dst = appendBool(dst, h.HasAmount)
	dst = binary.AppendVarint(dst, int64(h.Amount))
	dst = appendStr(dst, h.Currency)
	dst = appendStr(dst, h.ProductID)
	dst = appendStr(dst, h.ProductName)
	dst = appendStr(dst, h.Source)
	dst = appendStr(dst, h.Email)
	dst = appendStr(dst, h.CookieID)
	dst = binary.AppendVarint(dst, int64(h.Delta))
	dst = appendBool(dst, h.Credited != nil)
	dst = appendList(dst, h.Credited)
	dst = appendStr(dst, h.AttendeeID)
	dst = appendStr(dst, h.EmailSHA256)
	dst = appendStr(dst, h.ClickID)
	dst = appendStr(dst, h.CampaignID)
	dst = appendStr(dst, h.IP)
	dst = appendStr(dst, h.UserAgent)
	dst = appendStr(dst, h.Referer)
	dst = appendStr(dst, h.Query)
	// Version 2.
	dst = appendMap(dst, h.Macros)
	dst = binary.AppendVarint(dst, int64(h.ClickTTL))
	dst = binary.AppendVarint(dst, int64(h.Cost))
	dst = appendStr(dst, h.TxID)
	dst = appendStr(dst, h.Goal)
	dst = appendStr(dst, h.ConvStatus)
	dst = appendStr(dst, h.RawStatus)
	dst = appendStr(dst, h.SourceID)
	dst = appendStr(dst, h.NetworkID)
	var val []byte
	if h.Valuation != nil {
		val, _ = json.Marshal(h.Valuation) // strings only: cannot fail
	}
	dst = appendStr(dst, string(val))
	return appendMap(dst, h.Profile)
}

// DecodeHit decodes a record written by AppendHit. The Hit owns its
// strings: b may be reused afterwards.
func DecodeHit(b []byte) (Hit, error) {
	var h Hit
	if len(b) == 0 || b[0] < minCodecVersion || b[0] > hitCodecVersion {
		return h, fmt.Errorf("%w: unknown version", ErrBadHit)
	}
	version := b[0]
	d := decoder{b: b[1:]}
	h.ID = d.str()
	h.Time = time.Unix(0, d.varint()).UTC()
	h.Account = d.str()
	h.Kind = d.str()
	h.Status = Status(d.str())
	h.Reason = d.str()
	h.Webinars = d.list()
	h.Tags = d.list()
	h.OrderID = d.str()
	h.OrderKey = d.str()
	h.HasAmount = d.bool()
	h.Amount = attribution.Micros(d.varint())
	h.Currency = d.str()
	h.ProductID = d.str()
	h.ProductName = d.str()
	h.Source = d.str()
	h.Email = d.str()
	h.CookieID = d.str()
	h.Delta = attribution.Micros(d.varint())
	hasCredited := d.bool()
	h.Credited = d.list()
	if hasCredited && h.Credited == nil {
		h.Credited = []string{}
	}
	h.AttendeeID = d.str()
	h.EmailSHA256 = d.str()
	h.ClickID = d.str()
	h.CampaignID = d.str()
	h.IP = d.str()
	h.UserAgent = d.str()
	h.Referer = d.str()
	h.Query = d.str()
	if version >= 2 {
		h.Macros = d.strMap()
		h.ClickTTL = time.Duration(d.varint())
		h.Cost = attribution.Micros(d.varint())
		h.TxID = d.str()
		h.Goal = d.str()
		h.ConvStatus = d.str()
		h.RawStatus = d.str()
		h.SourceID = d.str()
		h.NetworkID = d.str()
		if val := d.str(); val != "" {
			h.Valuation = &Valuation{}
			if err := json.Unmarshal([]byte(val), h.Valuation); err != nil {
				return Hit{}, fmt.Errorf("%w: valuation: %v", ErrBadHit, err)
			}
		}
		h.Profile = d.strMap()
	}
	if d.err != nil {
		return Hit{}, d.err
	}
	if len(d.b) != 0 {
		return Hit{}, fmt.Errorf("%w: %d trailing bytes", ErrBadHit, len(d.b))
	}
	return h, nil
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendList(dst []byte, l []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(l)))
	for _, s := range l {
		dst = appendStr(dst, s)
	}
	return dst
}

// appendMap writes a map's pairs sorted by key (deterministic bytes).
func appendMap(dst []byte, m map[string]string) []byte {
	keys := slices.Sorted(maps.Keys(m))
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = appendStr(appendStr(dst, k), m[k])
	}
	return dst
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// decoder reads fields until the first error, which it keeps.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated %s", ErrBadHit, what)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("length")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("string")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) list() []string {
	n := d.uvarint()
	if n == 0 {
		return nil
	}
	if n > uint64(len(d.b)) { // each element takes at least one byte
		d.fail("list")
		return nil
	}
	l := make([]string, 0, n)
	for range n {
		l = append(l, d.str())
	}
	return l
}

func (d *decoder) strMap() map[string]string {
	n := d.uvarint()
	if n == 0 {
		return nil
	}
	if n > uint64(len(d.b))/2 { // each pair takes at least two bytes
		d.fail("map")
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.str()
		m[k] = d.str()
	}
	return m
}

func (d *decoder) bool() bool {
	if len(d.b) == 0 {
		d.fail("flag")
		return false
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v == 1
}

// AppendResult appends the encoding of a ledger result (ledgers remember
// the result of each hit id, so that a replay can return it).
func AppendResult(dst []byte, r *Result) []byte {
	dst = append(dst, hitCodecVersion)
	dst = appendStr(dst, string(r.Status))
	dst = appendStr(dst, r.Reason)
	dst = binary.AppendVarint(dst, int64(r.Delta))
	dst = appendStr(dst, r.AttendeeID)
	dst = appendList(dst, r.Credited)
	var conv []byte
	if r.Conversion != nil {
		conv, _ = json.Marshal(r.Conversion) // plain strings, maps and numbers: cannot fail
	}
	return appendStr(dst, string(conv))
}

// DecodeResult decodes what AppendResult wrote.
func DecodeResult(b []byte) (Result, error) {
	var r Result
	if len(b) == 0 || b[0] != hitCodecVersion {
		return r, fmt.Errorf("%w: unknown result version", ErrBadHit)
	}
	d := decoder{b: b[1:]}
	r.Status = Status(d.str())
	r.Reason = d.str()
	r.Delta = attribution.Micros(d.varint())
	r.AttendeeID = d.str()
	r.Credited = d.list()
	if conv := d.str(); conv != "" {
		r.Conversion = &Conversion{}
		if err := json.Unmarshal([]byte(conv), r.Conversion); err != nil {
			return Result{}, fmt.Errorf("%w: conversion: %v", ErrBadHit, err)
		}
	}
	if d.err != nil {
		return Result{}, d.err
	}
	return r, nil
}
