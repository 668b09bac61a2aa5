package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// outcome classifies an attempt.
type outcome int

const (
	outcomeDelivered outcome = iota // 2xx
	outcomeRetry                    // network error, timeout, 5xx, 429
	outcomeFinal                    // any other answer, a bad URL, a blocked destination
	outcomeAborted                  // Run stopped mid-request: not recorded, stays pending
)

// drainBytes is how much of a response beyond the recorded part is read so
// that the connection can be reused; larger bodies close it.
const drainBytes = 64 << 10

// send makes one attempt at d. ctx is Run's: when it ends mid-request the
// outcome is outcomeAborted. retryWait is the Retry-After the receiver
// asked for, if any.
func (o *Outbox) send(ctx context.Context, d *Delivery) (a Attempt, out outcome, retryWait time.Duration) {
	a.At = o.now()
	start := time.Now()
	defer func() { a.Duration = time.Since(start) }()

	if err := CheckURL(d.URL, o.cfg.AllowPrivateTargets); err != nil {
		a.Error = err.Error()
		return a, outcomeFinal, 0
	}
	actx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	var body io.Reader
	if len(d.Body) > 0 {
		body = bytes.NewReader(d.Body)
	}
	req, err := http.NewRequestWithContext(actx, d.Method, d.URL, body)
	if err != nil {
		a.Error = fmt.Sprintf("%v: %v", ErrBadURL, UnwrapURLError(err))
		return a, outcomeFinal, 0
	}
	for k, v := range d.Headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}

	resp, err := o.client.Do(req)
	if err != nil {
		var be *BlockedError
		switch {
		case errors.As(err, &be):
			a.Error = be.Error()
			return a, outcomeFinal, 0
		case errors.Is(err, ErrBlocked):
			a.Error = UnwrapURLError(err).Error()
			return a, outcomeFinal, 0
		case ctx.Err() != nil:
			return a, outcomeAborted, 0
		case errors.Is(err, context.DeadlineExceeded) || IsTimeout(err):
			a.Error = fmt.Sprintf("timeout after %s", o.cfg.Timeout)
		default:
			a.Error = UnwrapURLError(err).Error()
		}
		return a, outcomeRetry, 0
	}
	defer resp.Body.Close()
	a.Status = resp.StatusCode
	buf, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	a.Response = strings.ToValidUTF8(string(buf), "")
	_, _ = io.CopyN(io.Discard, resp.Body, drainBytes)

	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return a, outcomeDelivered, 0
	case code >= 300 && code < 400:
		loc := resp.Header.Get("Location")
		if len(loc) > 512 {
			loc = loc[:512]
		}
		a.Error = fmt.Sprintf("redirect %d to %q not followed", code, strings.ToValidUTF8(loc, ""))
		return a, outcomeFinal, 0
	case code == http.StatusTooManyRequests || code >= 500:
		a.Error = fmt.Sprintf("HTTP %d", code)
		return a, outcomeRetry, RetryAfter(resp.Header.Get("Retry-After"), a.At)
	default:
		a.Error = fmt.Sprintf("HTTP %d", code)
		return a, outcomeFinal, 0
	}
}

// UnwrapURLError drops the *url.Error wrapper: its text repeats the URL,
// which may carry a token, and the attempt is stored with the URL anyway.
func UnwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// IsTimeout reports a network timeout anywhere in err's chain.
func IsTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// hostOf is the host of a URL for logs: never the path or query, which may
// carry personal data or tokens.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
