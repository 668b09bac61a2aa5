package attribution

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// crmSeeds are bodies as CRMs send them, then truncated, malformed and
// oversized ones.
func crmSeeds() []string {
	sf := `{"attributes":{"type":"Lead"},"Id":"00Q5g00000AbCdEEAV","Status":"Working - Contacted",` +
		`"LastModifiedDate":"2026-11-23T10:15:00.000+0000","Meta_Lead_ID__c":"` + lead16 + `"}`
	hs := `[{"objectId":65059681032,"occurredAt":1795428000000,"properties":{"lead_id":"` + lead16 +
		`","hs_lead_status":"IN_PROGRESS"}},{"properties":{"lead_id":{"value":"` + lead15 +
		`"},"hs_lead_status":{"value":"NEW"}},"occurredAt":1795420000000}]`
	generic := `[{"lead_id":` + lead17 + `,"event_name":"Lead","event_time":1795428000},` +
		`{"lead_id":"` + lead16 + `","event_name":"Won","event_time":"2026-11-23T11:00:00"},` +
		`{"lead_id":"12","event_name":"","event_time":"x"},7,null]`
	zap := `{"lead_id":"` + lead16 + `","stage":"Qualified","timestamp":"2026-11-23 09:00:00 UTC"}`
	csvBody := "lead_id,event_name,event_time\r\n" + lead16 + `,"Closed, Won",2026-11-23T09:00:00Z` + "\r\n" +
		lead15 + ",Lead,1795428000123\r\n\r\n12,,\r\n"
	seeds := []string{
		"", " ", "{}", "[]", "[{}]", "null", "[null]", `"x"`, "{", "[", "]", "[{]", "[1,]", `{"a":1}{"a":2}`,
		sf, hs, generic, zap, csvBody,
		"\ufeff" + generic,
		"\ufeffLead ID;Stage;Updated\n" + lead16 + ";MQL;2026-11-23\n",
		"lead_id\tstage\ttimestamp\n" + lead16 + "\tWon\t1795428000.25\n",
		"lead_id,event_name,event_time\n" + lead16 + `,"unterminated,1795428000` + "\n",
		"lead_id,event_name\n" + lead16 + ",Lead\n",
		"lead_id=" + lead16 + "&stage=Lead&timestamp=1795428000",
		`{"lead_id":"` + lead16 + `","event_name":"a\u0000b","event_time":1795428000}`,
		`{"lead_id":"` + lead16 + `","event_name":"\xff","event_time":1795428000}`,
		`{"lead_id":1e16,"event_name":"x","event_time":1.7e9}`,
		`{"lead_id":"` + strings.Repeat("9", 5000) + `","event_name":"x","event_time":1}`,
		`{"lead_id":"` + lead16 + `","event_name":"` + strings.Repeat("é", 3000) + `","event_time":1795428000}`,
		`{"lead_id":"` + lead16 + `","event_name":"x","event_time":"` + strings.Repeat("2026-", 500) + `"}`,
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
		`{"a":` + strings.Repeat(`{"a":`, 2000) + "1" + strings.Repeat("}", 2001),
		"[" + strings.TrimSuffix(strings.Repeat("{},", MaxCRMEvents+1), ",") + "]",
		"lead_id,event_name,event_time\n" + strings.Repeat("1,a,1\n", MaxCRMEvents+1),
	}
	for _, full := range []string{sf, hs, generic, csvBody} {
		for i := 1; i < len(full); i += 11 {
			seeds = append(seeds, full[:i])
		}
	}
	return seeds
}

var crmContentTypes = []string{"", "application/json", "text/csv", "text/csv; charset=utf-8", "application/vnd.api+json", "text/plain"}

var crmEventReasons = []string{ReasonBadLeadID, ReasonMissingStage, ReasonBadStage, ReasonBadTime,
	ReasonFutureTime, ReasonTooOld, ReasonInvalidEvent}

func FuzzParseCRMEvents(f *testing.F) {
	names := CRMPresetNames()
	for _, s := range crmSeeds() {
		for i := range crmContentTypes {
			f.Add([]byte(s), uint8(i), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, ctPick, presetPick uint8) {
		ct := crmContentTypes[int(ctPick)%len(crmContentTypes)]
		m, _ := CRMPreset(names[int(presetPick)%len(names)])
		events, rejected, err := ParseCRMEvents(body, ct, m, crmNow)
		again, againRejected, againErr := ParseCRMEvents(body, ct, m, crmNow)
		if !slices.Equal(events, again) || !slices.Equal(rejected, againRejected) || (err == nil) != (againErr == nil) {
			t.Fatalf("not deterministic: %v, %v", err, againErr)
		}
		if err != nil {
			var rej *Rejection
			if !errors.As(err, &rej) || (rej.Reason != ReasonInvalidBody && rej.Reason != ReasonTooManyEvents) {
				t.Fatalf("error %v (%T) is not a body rejection", err, err)
			}
			if events != nil || rejected != nil {
				t.Fatalf("a refused body returned %d events, %d rejections", len(events), len(rejected))
			}
			return
		}

		// Every event of the body is either kept or refused, once, in order.
		n := len(events) + len(rejected)
		if n > MaxCRMEvents {
			t.Fatalf("%d events", n)
		}
		seen := make([]bool, n)
		for _, idx := range slices.Concat(eventIndices(events), rejectIndices(rejected)) {
			if idx < 0 || idx >= n || seen[idx] {
				t.Fatalf("index %d out of place among %d", idx, n)
			}
			seen[idx] = true
		}
		if !slices.IsSorted(eventIndices(events)) || !slices.IsSorted(rejectIndices(rejected)) {
			t.Fatal("not in body order")
		}

		for _, r := range rejected {
			if !slices.Contains(crmEventReasons, r.Reason) {
				t.Fatalf("reason %q", r.Reason)
			}
			if r.Detail == "" || len(r.Detail) > 600 || !utf8.ValidString(r.Detail) {
				t.Fatalf("detail %q", r.Detail)
			}
		}
		for _, e := range events {
			if !validCRMLeadID(e.LeadID) {
				t.Fatalf("lead id %q", e.LeadID)
			}
			if e.EventName == "" || trimSpace(e.EventName) != e.EventName || len(e.EventName) > MaxCRMStageBytes ||
				!utf8.ValidString(e.EventName) || hasControl(e.EventName) {
				t.Fatalf("stage %q", e.EventName)
			}
			if e.EventTime.Location() != time.UTC || e.EventTime.After(crmNow.Add(CRMClockSkew)) ||
				e.EventTime.Before(crmNow.Add(-CRMEventWindow)) {
				t.Fatalf("time %v", e.EventTime)
			}
		}

		// What was kept reads back the same through the generic mapping.
		if len(events) == 0 {
			return
		}
		type generic struct {
			LeadID    json.Number `json:"lead_id"`
			EventName string      `json:"event_name"`
			EventTime string      `json:"event_time"`
		}
		out := make([]generic, len(events))
		for i, e := range events {
			out[i] = generic{json.Number(e.LeadID), e.EventName, e.EventTime.Format(time.RFC3339Nano)}
		}
		b, merr := json.Marshal(out)
		if merr != nil {
			t.Fatal(merr)
		}
		back, backRejected, berr := ParseCRMEvents(b, "application/json", CRMMapping{}, crmNow)
		if berr != nil || len(backRejected) != 0 || len(back) != len(events) {
			t.Fatalf("re-reading %s: %d events, %+v, %v", b, len(back), backRejected, berr)
		}
		for i := range back {
			e, g := events[i], back[i]
			if g.LeadID != e.LeadID || g.EventName != e.EventName || !g.EventTime.Equal(e.EventTime) || g.Index != i {
				t.Fatalf("re-read %+v as %+v", e, g)
			}
		}
	})
}

func eventIndices(events []CRMEvent) []int {
	out := make([]int, len(events))
	for i, e := range events {
		out[i] = e.Index
	}
	return out
}

func rejectIndices(rejected []CRMReject) []int {
	out := make([]int, len(rejected))
	for i, r := range rejected {
		out[i] = r.Index
	}
	return out
}
