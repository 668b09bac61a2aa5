package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pixelpost/pixelpost/internal/secret"
	"github.com/pixelpost/pixelpost/storage/outbox"
)

// outcome classifies Meta's answer to one request.
type outcome int

const (
	outSent        outcome = iota // 2xx
	outInvalid                    // 400 saying the batch holds a bad event: split it
	outFailed                     // any other final answer: the events fail
	outRateLimited                // 429 or a rate-limit Graph code: pause the dataset
	outRetry                      // 5xx, timeout, network error: pause, then resend
	outAborted                    // Run stopped mid-request: nothing recorded
)

// Graph API error codes that mean "slow down": 4 application, 17 user, 32
// page, 613 custom rate limits, 80004 ads-management rate limit.
func isRateLimitCode(code int) bool {
	switch code {
	case 4, 17, 32, 613, 80004:
		return true
	}
	return false
}

// isInvalidBatch says whether a 400 means "a bad event in the batch":
// Graph's invalid-parameter code 100 (but not subcode 33, "object does not
// exist", which is about the dataset and would fail every half alike), or
// a Conversions API event subcode (2804xxx).
func isInvalidBatch(e *graphError) bool {
	switch {
	case e.Code == 100 && e.Subcode == 33:
		return false
	case e.Code == 100:
		return true
	default:
		return e.Subcode >= 2804000 && e.Subcode < 2805000
	}
}

// maxResponseBytes bounds the part of an answer read; drainBytes more are
// read so the connection can be reused.
const (
	maxResponseBytes = 64 << 10
	drainBytes       = 64 << 10
	maxErrorLen      = 1024
)

type wireEvent struct {
	EventName    string         `json:"event_name"`
	EventTime    int64          `json:"event_time"`
	ActionSource string         `json:"action_source"`
	UserData     wireUserData   `json:"user_data"`
	CustomData   wireCustomData `json:"custom_data"`
}

type wireUserData struct {
	// LeadID is a json.Number (15–17 digits overflow no integer type but
	// would lose precision as a float64), or a string for an id with a
	// leading zero, which is not a JSON number.
	LeadID any `json:"lead_id"`
}

type wireCustomData struct {
	EventSource     string `json:"event_source"`
	LeadEventSource string `json:"lead_event_source"`
}

type wireRequest struct {
	Data          []wireEvent `json:"data"`
	PartnerAgent  string      `json:"partner_agent,omitempty"`
	TestEventCode string      `json:"test_event_code,omitempty"`
	// AccessToken goes in the body: a URL ends up in logs and traces.
	AccessToken string `json:"access_token"`
}

type graphError struct {
	Message   string `json:"message"`
	Type      string `json:"type"`
	Code      int    `json:"code"`
	Subcode   int    `json:"error_subcode"`
	UserTitle string `json:"error_user_title"`
	UserMsg   string `json:"error_user_msg"`
	FBTraceID string `json:"fbtrace_id"`
}

type graphAnswer struct {
	EventsReceived *int64      `json:"events_received"`
	FBTraceID      string      `json:"fbtrace_id"`
	Error          *graphError `json:"error"`
}

// answer is what one request came to.
type answer struct {
	out      outcome
	msg      string        // why it did not succeed, for the events and the state
	fbtrace  string        // Meta's trace id, if any
	received int64         // events_received; -1 when absent
	wait     time.Duration // Retry-After, if any
}

// body encodes the request for events.
func body(d Dataset, evs []item) ([]byte, error) {
	req := wireRequest{
		Data:          make([]wireEvent, len(evs)),
		PartnerAgent:  d.PartnerAgent,
		TestEventCode: d.TestEventCode,
		AccessToken:   d.AccessToken,
	}
	for i, it := range evs {
		r := it.rec
		var lead any = json.Number(r.LeadID)
		if strings.HasPrefix(r.LeadID, "0") {
			lead = r.LeadID
		}
		req.Data[i] = wireEvent{
			EventName:    r.EventName,
			EventTime:    r.EventTime.Unix(),
			ActionSource: "system_generated",
			UserData:     wireUserData{LeadID: lead},
			CustomData:   wireCustomData{EventSource: "crm", LeadEventSource: r.LeadEventSource},
		}
	}
	return json.Marshal(req)
}

// endpoint is the events edge of d.
func endpoint(d Dataset) string {
	return d.GraphBase + "/" + d.APIVersion + "/" + url.PathEscape(d.ID) + "/events"
}

// post sends one request for evs. ctx is Run's: when it ends mid-request
// the outcome is outAborted.
func (f *Forwarder) post(ctx context.Context, d Dataset, evs []item) answer {
	a := answer{received: -1}
	buf, err := body(d, evs)
	if err != nil {
		a.out, a.msg = outFailed, "cannot encode events: "+err.Error()
		return a
	}
	rctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, endpoint(d), bytes.NewReader(buf))
	if err != nil {
		a.out, a.msg = outFailed, fmt.Sprintf("%v: %v", outbox.ErrBadURL, outbox.UnwrapURLError(err))
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := f.client.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, outbox.ErrBlocked):
			a.out, a.msg = outFailed, outbox.UnwrapURLError(err).Error()
		case ctx.Err() != nil:
			a.out = outAborted
		case errors.Is(err, context.DeadlineExceeded) || outbox.IsTimeout(err):
			a.out, a.msg = outRetry, fmt.Sprintf("timeout after %s", f.cfg.Timeout)
		default:
			a.out, a.msg = outRetry, outbox.UnwrapURLError(err).Error()
		}
		a.msg = secret.Scrub(a.msg, d.AccessToken)
		return a
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	_, _ = io.CopyN(io.Discard, resp.Body, drainBytes)
	if ctx.Err() != nil {
		a.out = outAborted
		return a
	}
	var ga graphAnswer
	_ = json.Unmarshal(raw, &ga) // a non-JSON answer is judged on its status
	a.fbtrace = ga.FBTraceID
	if ga.EventsReceived != nil {
		a.received = *ga.EventsReceived
	}
	code := resp.StatusCode
	if ga.Error != nil {
		a.msg = ga.Error.text(code)
		if a.fbtrace == "" {
			a.fbtrace = ga.Error.FBTraceID
		}
	} else if code >= 300 {
		a.msg = fmt.Sprintf("HTTP %d", code)
		if s := strings.TrimSpace(strings.ToValidUTF8(string(raw), "")); s != "" {
			a.msg += ": " + s
		}
	}
	switch {
	case code >= 200 && code < 300:
		a.out = outSent
	case code == http.StatusTooManyRequests || (ga.Error != nil && isRateLimitCode(ga.Error.Code)):
		a.out = outRateLimited
		a.wait = outbox.RetryAfter(resp.Header.Get("Retry-After"), f.now())
	case code >= 300 && code < 400:
		a.out = outFailed
		a.msg = fmt.Sprintf("redirect %d not followed", code)
	case code == http.StatusBadRequest && ga.Error != nil && isInvalidBatch(ga.Error):
		a.out = outInvalid
	case code >= 400 && code < 500:
		a.out = outFailed
	default: // 5xx, and 1xx oddities
		a.out = outRetry
		a.wait = outbox.RetryAfter(resp.Header.Get("Retry-After"), f.now())
	}
	a.msg = clip(secret.Scrub(a.msg, d.AccessToken), maxErrorLen)
	return a
}

// text is Meta's message, with the user-facing details and the codes a
// support request needs.
func (e *graphError) text(status int) string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.UserMsg != "" && e.UserMsg != e.Message {
		b.WriteString(": ")
		if e.UserTitle != "" {
			b.WriteString(e.UserTitle + ": ")
		}
		b.WriteString(e.UserMsg)
	}
	fmt.Fprintf(&b, " (HTTP %d, code %d", status, e.Code)
	if e.Subcode != 0 {
		fmt.Fprintf(&b, ", subcode %d", e.Subcode)
	}
	if e.FBTraceID != "" {
		fmt.Fprintf(&b, ", fbtrace_id %s", e.FBTraceID)
	}
	b.WriteString(")")
	return strings.ToValidUTF8(b.String(), "")
}
