package attribution

// Rejection is why a hit (or one of its parameters) was refused. Every
// parser of this package returns its errors as *Rejection, so the caller can
// record Reason on the raw hit and count it in metrics.
type Rejection struct {
	Reason string // one of the Reason constants
	Param  string // the parameter at fault, or ""
}

// Reasons recorded on rejected hits. They are part of the raw-hit schema:
// analysts filter on them, so they never change.
const (
	ReasonInvalidEncoding  = "invalid_encoding"
	ReasonDuplicateParam   = "duplicate_param"
	ReasonTooManyParams    = "too_many_params"
	ReasonParamTooLong     = "param_too_long"
	ReasonQueryTooLong     = "query_too_long"
	ReasonInvalidAmount    = "invalid_amount"
	ReasonAmountPrecision  = "amount_precision"
	ReasonInvalidCurrency  = "invalid_currency"
	ReasonInvalidEmail     = "invalid_email"
	ReasonInvalidWebinarID = "invalid_webinar_id"
	ReasonInvalidTag       = "invalid_tag"
	ReasonInvalidOrderID   = "invalid_order_id"
	ReasonInvalidProduct   = "invalid_product"
	ReasonAmountTooLarge   = "amount_too_large"
)

// Error reads "reason: param", or just the reason when no parameter is named.
func (r *Rejection) Error() string {
	if r.Param == "" {
		return r.Reason
	}
	return r.Reason + ": " + r.Param
}

func reject(reason, param string) *Rejection {
	return &Rejection{Reason: reason, Param: param}
}
