package storage

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/internal/binenc"
)

// The write-ahead logs store hits in a compact binary form: a version
// byte, then every field in declaration order; strings and lists are
// length-prefixed (uvarint), numbers are varints. A new field is appended
// at the end under a new version, so old logs stay readable.
const hitCodecVersion = 5

// minCodecVersion is the oldest encoding DecodeHit still reads (version 1
// lacks the S2S fields, version 2 a click's PixelConversions, version 3
// the hits-log place of a row, version 4 a deferred hit's Request).
const minCodecVersion = 1

// ErrBadHit: a log record does not decode as a Hit.
var ErrBadHit = errors.New("bad hit record")

// AppendHit appends the encoding of h to dst.
func AppendHit(dst []byte, h *Hit) []byte {
	dst = append(dst, hitCodecVersion)
	dst = binenc.AppendString(dst, h.ID)
	dst = binary.AppendVarint(dst, h.Time.UnixNano())
	dst = binenc.AppendString(dst, h.Account)
	dst = binenc.AppendString(dst, h.Kind)
	dst = binenc.AppendString(dst, string(h.Status))
	dst = binenc.AppendString(dst, h.Reason)
	dst = binenc.AppendStrings(dst, h.Webinars)
	dst = binenc.AppendStrings(dst, h.Tags)
	dst = binenc.AppendString(dst, h.OrderID)
	dst = binenc.AppendString(dst, h.OrderKey)
	dst = binenc.AppendBool(dst, h.HasAmount)
	dst = binary.AppendVarint(dst, int64(h.Amount))
	dst = binenc.AppendString(dst, h.Currency)
	dst = binenc.AppendString(dst, h.ProductID)
	dst = binenc.AppendString(dst, h.ProductName)
	dst = binenc.AppendString(dst, h.Source)
	dst = binenc.AppendString(dst, h.Email)
	dst = binenc.AppendString(dst, h.CookieID)
	dst = binary.AppendVarint(dst, int64(h.Delta))
	dst = binenc.AppendBool(dst, h.Credited != nil)
	dst = binenc.AppendStrings(dst, h.Credited)
	dst = binenc.AppendString(dst, h.AttendeeID)
	dst = binenc.AppendString(dst, h.EmailSHA256)
	dst = binenc.AppendString(dst, h.ClickID)
	dst = binenc.AppendString(dst, h.CampaignID)
	dst = binenc.AppendString(dst, h.IP)
	dst = binenc.AppendString(dst, h.UserAgent)
	dst = binenc.AppendString(dst, h.Referer)
	dst = binenc.AppendString(dst, h.Query)
	// Version 2.
	dst = binenc.AppendMap(dst, h.Macros)
	dst = binary.AppendVarint(dst, int64(h.ClickTTL))
	dst = binary.AppendVarint(dst, int64(h.Cost))
	dst = binenc.AppendString(dst, h.TxID)
	dst = binenc.AppendString(dst, h.Goal)
	dst = binenc.AppendString(dst, h.ConvStatus)
	dst = binenc.AppendString(dst, h.RawStatus)
	dst = binenc.AppendString(dst, h.SourceID)
	dst = binenc.AppendString(dst, h.NetworkID)
	var val []byte
	if h.Valuation != nil {
		val, _ = json.Marshal(h.Valuation) // strings only: cannot fail
	}
	dst = binenc.AppendString(dst, string(val))
	dst = binenc.AppendMap(dst, h.Profile)
	// Version 3.
	dst = binenc.AppendBool(dst, h.PixelConversions != nil)
	dst = binenc.AppendBool(dst, h.PixelConversions != nil && *h.PixelConversions)
	// Version 4.
	dst = binenc.AppendString(dst, h.Log)
	dst = binary.AppendUvarint(dst, h.Pos)
	// Version 5.
	dst = binenc.AppendBool(dst, h.Deferred != nil)
	if r := h.Deferred; r != nil {
		for _, f := range [...]string{r.Method, r.Query, r.ContentType, r.Body, r.ClientAddr,
			r.AttendeeCookie, r.ClickCookie, r.Endpoint} {
			dst = binenc.AppendString(dst, f)
		}
	}
	return dst
}

// DecodeHit decodes a record written by AppendHit, maybe followed by zero
// bytes (a record shortened in place keeps its length). The Hit owns its
// strings: b may be reused afterwards.
func DecodeHit(b []byte) (Hit, error) {
	var h Hit
	if len(b) == 0 || b[0] < minCodecVersion || b[0] > hitCodecVersion {
		return h, fmt.Errorf("%w: unknown version", ErrBadHit)
	}
	version := b[0]
	d := binenc.NewDecoder(b[1:], ErrBadHit)
	h.ID = d.String()
	h.Time = time.Unix(0, d.Varint()).UTC()
	h.Account = d.String()
	h.Kind = d.String()
	h.Status = Status(d.String())
	h.Reason = d.String()
	h.Webinars = d.Strings()
	h.Tags = d.Strings()
	h.OrderID = d.String()
	h.OrderKey = d.String()
	h.HasAmount = d.Bool()
	h.Amount = attribution.Micros(d.Varint())
	h.Currency = d.String()
	h.ProductID = d.String()
	h.ProductName = d.String()
	h.Source = d.String()
	h.Email = d.String()
	h.CookieID = d.String()
	h.Delta = attribution.Micros(d.Varint())
	hasCredited := d.Bool()
	h.Credited = d.Strings()
	if hasCredited && h.Credited == nil {
		h.Credited = []string{}
	}
	h.AttendeeID = d.String()
	h.EmailSHA256 = d.String()
	h.ClickID = d.String()
	h.CampaignID = d.String()
	h.IP = d.String()
	h.UserAgent = d.String()
	h.Referer = d.String()
	h.Query = d.String()
	if version >= 2 {
		h.Macros = d.Map()
		h.ClickTTL = time.Duration(d.Varint())
		h.Cost = attribution.Micros(d.Varint())
		h.TxID = d.String()
		h.Goal = d.String()
		h.ConvStatus = d.String()
		h.RawStatus = d.String()
		h.SourceID = d.String()
		h.NetworkID = d.String()
		if val := d.String(); val != "" {
			h.Valuation = &Valuation{}
			if err := json.Unmarshal([]byte(val), h.Valuation); err != nil {
				return Hit{}, fmt.Errorf("%w: valuation: %v", ErrBadHit, err)
			}
		}
		h.Profile = d.Map()
	}
	if version >= 3 {
		known, allowed := d.Bool(), d.Bool()
		if known {
			h.PixelConversions = &allowed
		}
	}
	if version >= 4 {
		h.Log = d.String()
		h.Pos = d.Uvarint()
	}
	if version >= 5 && d.Bool() {
		h.Deferred = &Request{Method: d.String(), Query: d.String(), ContentType: d.String(),
			Body: d.String(), ClientAddr: d.String(), AttendeeCookie: d.String(),
			ClickCookie: d.String(), Endpoint: d.String()}
	}
	if err := d.Err(); err != nil {
		return Hit{}, err
	}
	if rest := b[len(b)-d.Len():]; len(rest) != 0 && !allZero(rest) {
		return Hit{}, fmt.Errorf("%w: %d trailing bytes", ErrBadHit, d.Len())
	}
	return h, nil
}

// allZero reports whether b holds zero bytes only: the padding after a
// record an erasure shortened in place (wal.Log.Rewrite), which DecodeHit
// ignores.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// resultCodecVersion is the version byte of AppendResult's encoding.
const resultCodecVersion = 2

// AppendResult appends the encoding of a ledger result (ledgers remember
// the result of each hit id, so that a replay can return it).
func AppendResult(dst []byte, r *Result) []byte {
	dst = append(dst, resultCodecVersion)
	dst = binenc.AppendString(dst, string(r.Status))
	dst = binenc.AppendString(dst, r.Reason)
	dst = binary.AppendVarint(dst, int64(r.Delta))
	dst = binenc.AppendString(dst, r.AttendeeID)
	dst = binenc.AppendStrings(dst, r.Credited)
	var conv []byte
	if r.Conversion != nil {
		conv, _ = json.Marshal(r.Conversion) // plain strings, maps and numbers: cannot fail
	}
	return binenc.AppendString(dst, string(conv))
}

// DecodeResult decodes what AppendResult wrote.
func DecodeResult(b []byte) (Result, error) {
	var r Result
	if len(b) == 0 || b[0] != resultCodecVersion {
		return r, fmt.Errorf("%w: unknown result version", ErrBadHit)
	}
	d := binenc.NewDecoder(b[1:], ErrBadHit)
	r.Status = Status(d.String())
	r.Reason = d.String()
	r.Delta = attribution.Micros(d.Varint())
	r.AttendeeID = d.String()
	r.Credited = d.Strings()
	if conv := d.String(); conv != "" {
		r.Conversion = &Conversion{}
		if err := json.Unmarshal([]byte(conv), r.Conversion); err != nil {
			return Result{}, fmt.Errorf("%w: conversion: %v", ErrBadHit, err)
		}
	}
	if err := d.Err(); err != nil {
		return Result{}, err
	}
	return r, nil
}
