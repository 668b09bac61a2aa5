package attribution

import (
	"errors"
	"strings"
	"testing"
)

func TestRejectionError(t *testing.T) {
	tests := []struct {
		name string
		rej  *Rejection
		want string
	}{
		{"with param", &Rejection{Reason: ReasonInvalidAmount, Param: "amount"}, "invalid_amount: amount"},
		{"without param", &Rejection{Reason: ReasonTooManyParams}, "too_many_params"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rej.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEveryReason reaches each rejection reason through the public API.
func TestEveryReason(t *testing.T) {
	tests := []struct {
		name   string
		call   func() error
		reason string
		param  string
	}{
		{"invalid_encoding", pixel("amount=%zz"), ReasonInvalidEncoding, "amount"},
		{"duplicate_param", pixel("amount=1&amount=2"), ReasonDuplicateParam, "amount"},
		{"too_many_params", pixel(strings.Repeat("a=1&", MaxParams+1)), ReasonTooManyParams, ""},
		{"param_too_long", pixel("productName=" + strings.Repeat("x", MaxParamBytes+1)), ReasonParamTooLong, "productName"},
		{"query_too_long", pixel(strings.Repeat("x", MaxQueryBytes+1)), ReasonQueryTooLong, ""},
		{"invalid_amount", amount("1e3", "USD"), ReasonInvalidAmount, "amount"},
		{"amount_precision", amount("19.999", "USD"), ReasonAmountPrecision, "amount"},
		{"invalid_currency", pixel("currency=XYZ"), ReasonInvalidCurrency, "currency"},
		{"invalid_email", pixel("email=john"), ReasonInvalidEmail, "email"},
		{"invalid_webinar_id", pixel("webinarId=a/b"), ReasonInvalidWebinarID, "webinarId"},
		{"invalid_tag", pixel("tag=a%20b"), ReasonInvalidTag, "tag"},
		{"invalid_order_id", pixel("orderId=" + strings.Repeat("9", maxOrderIDBytes+1)), ReasonInvalidOrderID, "orderId"},
		{"invalid_product", pixel("productId=a%0Ab"), ReasonInvalidProduct, "productId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRejection(t, tt.call(), tt.reason, tt.param)
		})
	}
}

func pixel(q string) func() error {
	return func() error { _, err := ParsePixel([]byte(q)); return err }
}

func amount(s, cur string) func() error {
	return func() error { _, err := ParseAmount(s, cur); return err }
}

// checkRejection fails unless err is a *Rejection with reason and param;
// reason "" expects no error.
func checkRejection(t *testing.T, err error, reason, param string) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	var rej *Rejection
	if !errors.As(err, &rej) {
		t.Fatalf("error = %v (%T), want *Rejection %s", err, err, reason)
	}
	if rej.Reason != reason || rej.Param != param {
		t.Fatalf("rejection = %q/%q, want %q/%q", rej.Reason, rej.Param, reason, param)
	}
}
