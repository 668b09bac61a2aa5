package attribution

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// SourceTemplate is what pixelpost knows of a kind of traffic source: the
// query its campaign link carries (the source's own macros, which it fills
// in for each click, under the names the offer URL and the outbound
// postback use as tokens) and its outbound postback URL.
type SourceTemplate struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	// LinkQuery is the campaign link's query string, without the '?'.
	LinkQuery string `json:"link_query"`
	// PostbackURL is the source's outbound postback template ("": the
	// user writes the source's own). GoalPlaceholder, when set, is the
	// part of it the user replaces with the goal id the source gave them.
	PostbackURL     string `json:"postback_url"`
	GoalPlaceholder string `json:"goal_placeholder,omitempty"`
}

// LookupSourceTemplate returns the named template ("exoclick",
// "generic"), matched without regard to ASCII case.
//
//   - exoclick: ExoClick's macros as its tracker guides write them,
//     {conversions_tracking} (the conversion id to send back, kept as
//     external_id), {zone_id}, {campaign_id}, {site_id}, {variation_id},
//     {category_id}, {country}, {format} and {actual_cost} (what the click
//     cost, kept as cost); the postback is ExoClick's tag.php with the
//     goal id of the conversion goal made in ExoClick.
//   - generic: external_id, zoneid, country and cost, each with a macro
//     to replace by the source's own; the user writes its postback URL.
func LookupSourceTemplate(name string) (SourceTemplate, bool) {
	switch strings.ToLower(name) {
	case "exoclick":
		return SourceTemplate{
			Name: "exoclick", Label: "ExoClick",
			LinkQuery: "external_id={conversions_tracking}&zoneid={zone_id}&campid={campaign_id}&siteid={site_id}" +
				"&variation_id={variation_id}&catid={category_id}&country={country}&format={format}&cost={actual_cost}",
			PostbackURL:     "http://s.magsrv.com/tag.php?goal=GOAL_ID&tag={external_id}&value={payout}",
			GoalPlaceholder: "GOAL_ID",
		}, true
	case "generic":
		return SourceTemplate{
			Name: "generic", Label: "Other traffic source",
			LinkQuery: "external_id={click_id}&zoneid={zone_id}&country={country}&cost={cost}",
		}, true
	}
	return SourceTemplate{}, false
}

// SourceTemplateNames lists the names LookupSourceTemplate knows, the
// most specific first.
func SourceTemplateNames() []string { return []string{"exoclick", "generic"} }

// MaxLinkQueryBytes bounds a campaign link's query.
const MaxLinkQueryBytes = 2048

// ErrBadLinkQuery: a campaign link query that is not one.
var ErrBadLinkQuery = errors.New("not a query string")

// CheckLinkQuery accepts a campaign link's query string (without '?'):
// name=value pairs joined by '&', without spaces, control characters, '?'
// or '#', each name present and the whole readable as a query.
func CheckLinkQuery(q string) error {
	if len(q) > MaxLinkQueryBytes {
		return fmt.Errorf("%w: longer than %d bytes", ErrBadLinkQuery, MaxLinkQueryBytes)
	}
	for _, r := range q {
		if r <= ' ' || r == 0x7f || r == '?' || r == '#' {
			return fmt.Errorf("%w: %q may not hold %q", ErrBadLinkQuery, q, r)
		}
	}
	if q == "" {
		return nil
	}
	for _, pair := range strings.Split(q, "&") {
		name, _, _ := strings.Cut(pair, "=")
		if name == "" {
			return fmt.Errorf("%w: %q has a parameter without a name", ErrBadLinkQuery, q)
		}
	}
	if _, err := url.ParseQuery(q); err != nil {
		return fmt.Errorf("%w: %v", ErrBadLinkQuery, err)
	}
	return nil
}
