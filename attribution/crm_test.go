package attribution

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// crmNow is the time of the test requests.
var crmNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// Lead ids as Meta issues them (15 and 16 digits) and one at the 17-digit
// limit, beyond float64's exact integers.
const (
	lead15 = "987654321098765"
	lead16 = "1234567890123456"
	lead17 = "12345678901234567"
)

func mustCRMPreset(t testing.TB, name string) CRMMapping {
	t.Helper()
	m, ok := CRMPreset(name)
	if !ok {
		t.Fatalf("no CRM preset %q", name)
	}
	return m
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// TestParseCRMEventsPresets reads each CRM's payload as it sends it.
func TestParseCRMEventsPresets(t *testing.T) {
	tests := []struct {
		name, preset, contentType, body string
		want                            []CRMEvent
	}{
		{"generic object", "generic", "application/json",
			`{"lead_id": "` + lead16 + `", "event_name": "Marketing Qualified Lead", "event_time": 1795428000}`,
			[]CRMEvent{{LeadID: lead16, EventName: "Marketing Qualified Lead", EventTime: time.Unix(1795428000, 0).UTC()}}},
		{"generic array, numeric ids", "generic", "application/json; charset=utf-8",
			`[{"lead_id": ` + lead16 + `, "event_name": "Initial Lead from Facebook", "event_time": 1795420000},
			  {"lead_id": ` + lead15 + `, "event_name": "Sales Opportunity", "event_time": "2026-11-23T08:30:00Z"}]`,
			[]CRMEvent{
				{LeadID: lead16, EventName: "Initial Lead from Facebook", EventTime: time.Unix(1795420000, 0).UTC()},
				{LeadID: lead15, EventName: "Sales Opportunity", EventTime: at("2026-11-23T08:30:00Z"), Index: 1},
			}},
		{"salesforce Flow callout", "salesforce", "application/json",
			`{"attributes": {"type": "Lead", "url": "/services/data/v62.0/sobjects/Lead/00Q5g00000AbCdEEAV"},
			  "Id": "00Q5g00000AbCdEEAV", "Company": "Acme", "LastName": "Martin",
			  "Status": "Working - Contacted", "LastModifiedDate": "2026-11-23T10:15:00.000+0000",
			  "Meta_Lead_ID__c": "` + lead16 + `"}`,
			[]CRMEvent{{LeadID: lead16, EventName: "Working - Contacted", EventTime: at("2026-11-23T10:15:00Z")}}},
		{"salesforce list, offset zone", "salesforce", "",
			`[{"Meta_Lead_ID__c": "` + lead15 + `", "Status": "Closed - Converted", "LastModifiedDate": "2026-11-23T11:15:30.250+0100"}]`,
			[]CRMEvent{{LeadID: lead15, EventName: "Closed - Converted", EventTime: at("2026-11-23T10:15:30.25Z")}}},
		{"hubspot workflow webhook", "hubspot", "application/json",
			`{"objectId": 65059681032, "objectType": "CONTACT", "occurredAt": ` + ms(at("2026-11-23T11:59:58.741Z")) + `,
			  "properties": {"email": "jane@example.com", "lead_id": "` + lead16 + `", "hs_lead_status": "IN_PROGRESS",
			  "hs_lastmodifieddate": "2026-11-23T11:59:58.741Z"}}`,
			[]CRMEvent{{LeadID: lead16, EventName: "IN_PROGRESS", EventTime: at("2026-11-23T11:59:58.741Z")}}},
		{"hubspot legacy property objects", "hubspot", "application/json",
			`[{"vid": 3201, "occurredAt": ` + ms(at("2026-11-22T09:00:00Z")) + `,
			   "properties": {"lead_id": {"value": "` + lead16 + `", "versions": []},
			   "hs_lead_status": {"value": "OPEN_DEAL", "timestamp": 1795338000000}}}]`,
			[]CRMEvent{{LeadID: lead16, EventName: "OPEN_DEAL", EventTime: at("2026-11-22T09:00:00Z")}}},
		{"zapier webhook", "zapier", "application/json",
			`{"lead_id": "` + lead16 + `", "stage": "Qualified", "timestamp": "2026-11-23T09:00:00+00:00", "email": "j@x.com"}`,
			[]CRMEvent{{LeadID: lead16, EventName: "Qualified", EventTime: at("2026-11-23T09:00:00Z")}}},
		{"zapier CSV", "zapier", "text/csv",
			"lead_id,stage,timestamp\r\n" + lead16 + ",Qualified,2026-11-23T09:00:00Z\r\n" + lead15 + ",Won,1795428000\r\n",
			[]CRMEvent{
				{LeadID: lead16, EventName: "Qualified", EventTime: at("2026-11-23T09:00:00Z")},
				{LeadID: lead15, EventName: "Won", EventTime: time.Unix(1795428000, 0).UTC(), Index: 1},
			}},
		{"salesforce report CSV", "salesforce", "text/csv; charset=utf-8",
			"\ufeff\"Lead ID\",\"Meta_Lead_ID__c\",\"Status\",\"LastModifiedDate\"\n" +
				"\"00Q5g00000AbCdEEAV\",\"" + lead16 + "\",\"Working - Contacted\",\"2026-11-23T10:15:00.000+0000\"\n",
			[]CRMEvent{{LeadID: lead16, EventName: "Working - Contacted", EventTime: at("2026-11-23T10:15:00Z")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, rejected, err := ParseCRMEvents([]byte(tt.body), tt.contentType, mustCRMPreset(t, tt.preset), crmNow)
			if err != nil {
				t.Fatalf("ParseCRMEvents: %v", err)
			}
			if len(rejected) != 0 {
				t.Fatalf("rejected %+v", rejected)
			}
			if !reflect.DeepEqual(events, tt.want) {
				t.Fatalf("events:\n got %+v\nwant %+v", events, tt.want)
			}
		})
	}
}

// TestParseCRMEventsMixed keeps the valid events of a body and refuses the
// others one by one, in body order.
func TestParseCRMEventsMixed(t *testing.T) {
	ok := func(id, stage string) string {
		return `{"lead_id": "` + id + `", "event_name": "` + stage + `", "event_time": "2026-11-23T11:00:00Z"}`
	}
	body := "[" + strings.Join([]string{
		ok(lead16, "Lead"), // 0
		`{"lead_id": "12345", "event_name": "Lead", "event_time": "2026-11-23T11:00:00Z"}`,         // 1
		`{"lead_id": "` + lead16 + `", "event_time": "2026-11-23T11:00:00Z"}`,                      // 2
		`{"lead_id": "` + lead16 + `", "event_name": "Won", "event_time": "yesterday"}`,            // 3
		`{"lead_id": "` + lead16 + `", "event_name": "Won", "event_time": "2026-11-23T12:06:00Z"}`, // 4
		`{"lead_id": "` + lead16 + `", "event_name": "Won", "event_time": "2026-11-16T11:59:59Z"}`, // 5
		`"` + lead16 + `"`, // 6
		ok(lead15, "MQL"),  // 7
		`{"lead_id": 1.234567890123456e15, "event_name": "Lead", "event_time": 1795428000}`,           // 8
		`{"lead_id": "` + lead16 + `", "event_name": {"label": "Won"}, "event_time": 1795428000}`,     // 9
		`{"lead_id": "` + lead16 + `", "event_name": "  ", "event_time": 1795428000}`,                 // 10
		`{"lead_id": true, "event_name": "Lead", "event_time": 1795428000}`,                           // 11
		`{"lead_id": "` + lead16 + `", "event_name": "Won", "event_time": null}`,                      // 12
		`{"lead_id": "` + lead16 + `", "event_name": "a\nb", "event_time": 1795428000}`,               // 13
		`{"lead_id": "` + lead16 + `", "event_name": 3, "event_time": 1795428000}`,                    // 14
		`{"lead_id": "123456789012345678", "event_name": "Lead", "event_time": 1795428000}`,           // 15
		`{"lead_id": " ` + lead17 + ` ", "event_name": " Closed Won ", "event_time": " 1795428000 "}`, // 16
	}, ",\n") + "]"
	events, rejected, err := ParseCRMEvents([]byte(body), "application/json", mustCRMPreset(t, "generic"), crmNow)
	if err != nil {
		t.Fatal(err)
	}
	wantEvents := []CRMEvent{
		{LeadID: lead16, EventName: "Lead", EventTime: at("2026-11-23T11:00:00Z"), Index: 0},
		{LeadID: lead15, EventName: "MQL", EventTime: at("2026-11-23T11:00:00Z"), Index: 7},
		{LeadID: lead16, EventName: "3", EventTime: time.Unix(1795428000, 0).UTC(), Index: 14},
		{LeadID: lead17, EventName: "Closed Won", EventTime: time.Unix(1795428000, 0).UTC(), Index: 16},
	}
	if !reflect.DeepEqual(events, wantEvents) {
		t.Errorf("events:\n got %+v\nwant %+v", events, wantEvents)
	}
	wantReasons := []struct {
		index  int
		reason string
	}{
		{1, ReasonBadLeadID}, {2, ReasonMissingStage}, {3, ReasonBadTime}, {4, ReasonFutureTime},
		{5, ReasonTooOld}, {6, ReasonInvalidEvent}, {8, ReasonBadLeadID}, {9, ReasonBadStage},
		{10, ReasonMissingStage}, {11, ReasonBadLeadID}, {12, ReasonBadTime}, {13, ReasonBadStage},
		{15, ReasonBadLeadID},
	}
	if len(rejected) != len(wantReasons) {
		t.Fatalf("rejected %+v", rejected)
	}
	for i, w := range wantReasons {
		if r := rejected[i]; r.Index != w.index || r.Reason != w.reason || r.Detail == "" {
			t.Errorf("rejected[%d] = %+v, want index %d reason %s", i, r, w.index, w.reason)
		}
	}
}

// TestParseCRMEventsBigLeadIDs: a JSON number is read as written; through
// a float64, 12345678901234567 would become ...568.
func TestParseCRMEventsBigLeadIDs(t *testing.T) {
	for _, id := range []string{lead15, lead16, lead17, "99999999999999999", "100000000000000"} {
		t.Run(id, func(t *testing.T) {
			body := `[{"lead_id": ` + id + `, "event_name": "Lead", "event_time": 1795428000}]`
			events, rejected, err := ParseCRMEvents([]byte(body), "application/json", mustCRMPreset(t, "generic"), crmNow)
			if err != nil || len(rejected) != 0 || len(events) != 1 {
				t.Fatalf("ParseCRMEvents = %+v, %+v, %v", events, rejected, err)
			}
			if events[0].LeadID != id {
				t.Errorf("LeadID = %s, want %s", events[0].LeadID, id)
			}
		})
	}
	var f float64
	if err := json.Unmarshal([]byte(lead17), &f); err != nil || strconv.FormatFloat(f, 'f', 0, 64) == lead17 {
		t.Fatalf("the test's premise fails: %s survives a float64 (%v)", lead17, err)
	}
}

func TestParseCRMTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // RFC 3339, or "" for bad_time
	}{
		{"1795428000", "2026-11-23T10:00:00Z"},
		{"1795428000.5", "2026-11-23T10:00:00.5Z"},
		{"1795428000123", "2026-11-23T10:00:00.123Z"},
		{"0", "1970-01-01T00:00:00Z"},
		{"2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z"},
		{"2026-11-23T10:00:00.123456789Z", "2026-11-23T10:00:00.123456789Z"},
		{"2026-11-23T11:00:00+01:00", "2026-11-23T10:00:00Z"},
		{"2026-11-23T05:00:00-0500", "2026-11-23T10:00:00Z"},
		{"2026-11-23T12:00:00+02", "2026-11-23T10:00:00Z"},
		{"2026-11-23T10:00:00.000+0000", "2026-11-23T10:00:00Z"},
		{"2026-11-23T10:00:00", "2026-11-23T10:00:00Z"},
		{"2026-11-23T10:00:00.75", "2026-11-23T10:00:00.75Z"},
		{"2026-11-23 10:00:00", "2026-11-23T10:00:00Z"},
		{"2026-11-23 10:00:00 UTC", "2026-11-23T10:00:00Z"},
		{"2026-11-23 11:00:00 +0100", "2026-11-23T10:00:00Z"},
		{"2026-11-23 10:00:00+00", "2026-11-23T10:00:00Z"},
		{"2026-11-23T10:00Z", "2026-11-23T10:00:00Z"},
		{"2026-11-23T10:00", "2026-11-23T10:00:00Z"},
		{"2026-11-23", "2026-11-23T00:00:00Z"},
		{"", ""},
		{"yesterday", ""},
		{"-1795428000", ""},
		{"1.79586e9", ""},
		{"17954280001234", ""},        // 14 digits: neither seconds nor milliseconds
		{"1795428000123.5", ""},       // milliseconds with a fraction
		{"1795428000.1234567890", ""}, // finer than nanoseconds
		{"1795428000.", ""},
		{"23/11/2026", ""},
		{"2026-13-01", ""},
		{"2026-11-23T25:00:00Z", ""},
		{"2026-11-23T10:00:00 PST", ""},
		{"2026-11-23T10:00:00Zjunk", ""},
		{"Mon, 23 Nov 2026 10:00:00 GMT", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseCRMTime(tt.in)
			if tt.want == "" {
				if ok {
					t.Fatalf("parseCRMTime(%q) = %v, want bad_time", tt.in, got)
				}
				return
			}
			if !ok || !got.Equal(at(tt.want)) || got.Location() != time.UTC {
				t.Fatalf("parseCRMTime(%q) = %v, %v; want %s", tt.in, got, ok, tt.want)
			}
		})
	}
}

// TestParseCRMEventsWindow: at most CRMClockSkew ahead, at most
// CRMEventWindow old, both ends included.
func TestParseCRMEventsWindow(t *testing.T) {
	tests := []struct {
		name   string
		time   time.Time
		reason string
	}{
		{"now", crmNow, ""},
		{"skew limit", crmNow.Add(CRMClockSkew), ""},
		{"past the skew", crmNow.Add(CRMClockSkew + time.Millisecond), ReasonFutureTime},
		{"tomorrow", crmNow.Add(24 * time.Hour), ReasonFutureTime},
		{"window limit", crmNow.Add(-CRMEventWindow), ""},
		{"past the window", crmNow.Add(-CRMEventWindow - time.Millisecond), ReasonTooOld},
		{"last year", crmNow.AddDate(-1, 0, 0), ReasonTooOld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"lead_id": %s, "event_name": "Lead", "event_time": %s}`, lead16, ms(tt.time))
			events, rejected, err := ParseCRMEvents([]byte(body), "", mustCRMPreset(t, "generic"), crmNow)
			if err != nil {
				t.Fatal(err)
			}
			if tt.reason == "" {
				if len(events) != 1 || !events[0].EventTime.Equal(tt.time) {
					t.Fatalf("events %+v, rejected %+v", events, rejected)
				}
				return
			}
			if len(events) != 0 || len(rejected) != 1 || rejected[0].Reason != tt.reason {
				t.Fatalf("events %+v, rejected %+v; want %s", events, rejected, tt.reason)
			}
		})
	}
}

func TestParseCRMEventsCSV(t *testing.T) {
	tests := []struct {
		name, body string
		mapping    CRMMapping
		want       []CRMEvent
		reasons    []string // of the rejected rows, in order
	}{
		{"quoted commas and quotes", "lead_id,event_name,event_time\n" +
			lead16 + `,"Closed, Won",2026-11-23T09:00:00Z` + "\n" +
			`"` + lead15 + `","Said ""yes""","2026-11-23 09:30:00"` + "\n",
			CRMMapping{},
			[]CRMEvent{
				{LeadID: lead16, EventName: "Closed, Won", EventTime: at("2026-11-23T09:00:00Z")},
				{LeadID: lead15, EventName: `Said "yes"`, EventTime: at("2026-11-23T09:30:00Z"), Index: 1},
			}, nil},
		{"semicolons, extra columns, header case", "Email;LEAD_ID;Event_Name;Event_Time;Note\n" +
			"a@x.com;" + lead16 + ";Qualified;" + ms(at("2026-11-23T08:00:00Z")) + ";x,y\n",
			CRMMapping{},
			[]CRMEvent{{LeadID: lead16, EventName: "Qualified", EventTime: at("2026-11-23T08:00:00Z")}}, nil},
		{"tabs", "lead_id\tevent_name\tevent_time\n" + lead16 + "\tWon\t2026-11-23\n",
			CRMMapping{},
			[]CRMEvent{{LeadID: lead16, EventName: "Won", EventTime: at("2026-11-23T00:00:00Z")}}, nil},
		{"custom columns", "Lead ID,Stage,Updated\n" + lead16 + ",MQL,2026-11-23T09:00:00Z\n",
			CRMMapping{LeadID: "Lead ID", EventName: "Stage", EventTime: "Updated"},
			[]CRMEvent{{LeadID: lead16, EventName: "MQL", EventTime: at("2026-11-23T09:00:00Z")}}, nil},
		{"rows refused one by one", "lead_id,event_name,event_time\n" +
			"1.23457E+15,Lead,2026-11-23T09:00:00Z\n" +
			"0123456789012345,Lead,2026-11-23T09:00:00Z\n" +
			"\n" +
			lead16 + ",,2026-11-23T09:00:00Z\n" +
			lead16 + ",Won\n" +
			lead16 + ",Won,2026-11-23T09:00:00Z\n",
			CRMMapping{},
			[]CRMEvent{{LeadID: lead16, EventName: "Won", EventTime: at("2026-11-23T09:00:00Z"), Index: 4}},
			[]string{ReasonBadLeadID, ReasonBadLeadID, ReasonMissingStage, ReasonBadTime}},
		{"header only", "lead_id,event_name,event_time\n", CRMMapping{}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, rejected, err := ParseCRMEvents([]byte(tt.body), "text/csv", tt.mapping, crmNow)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(events, tt.want) {
				t.Errorf("events:\n got %+v\nwant %+v", events, tt.want)
			}
			var reasons []string
			for _, r := range rejected {
				reasons = append(reasons, r.Reason)
				if !strings.HasPrefix(r.Detail, "line ") {
					t.Errorf("detail %q does not name the line", r.Detail)
				}
			}
			if !slices.Equal(reasons, tt.reasons) {
				t.Errorf("reasons %q, want %q (%+v)", reasons, tt.reasons, rejected)
			}
		})
	}
	_, rejected, _ := ParseCRMEvents([]byte("lead_id,event_name,event_time\n\n12,Lead,0\n"), "text/csv", CRMMapping{}, crmNow)
	if len(rejected) != 1 || rejected[0].Index != 0 || !strings.HasPrefix(rejected[0].Detail, "line 3: ") {
		t.Errorf("rejected %+v, want row 0 on line 3", rejected)
	}
}

// TestParseCRMEventsBody: what refuses a whole body.
func TestParseCRMEventsBody(t *testing.T) {
	row := `{"lead_id":"` + lead16 + `","event_name":"Lead","event_time":1795428000}`
	many := func(n int) string { return "[" + strings.TrimSuffix(strings.Repeat(row+",", n), ",") + "]" }
	csvMany := func(n int) string {
		return "lead_id,event_name,event_time\n" + strings.Repeat(lead16+",Lead,1795428000\n", n)
	}
	tests := []struct {
		name, contentType, body string
		reason, param           string
		events                  int
	}{
		{"empty", "", "", ReasonInvalidBody, "", 0},
		{"spaces", "application/json", "  \n", ReasonInvalidBody, "", 0},
		{"empty CSV", "text/csv", "", ReasonInvalidBody, "", 0},
		{"truncated object", "", row[:20], ReasonInvalidBody, "", 0},
		{"truncated array", "", many(3)[:100], ReasonInvalidBody, "", 0},
		{"unclosed array", "", "[" + row, ReasonInvalidBody, "", 0},
		{"trailing data", "", row + "x", ReasonInvalidBody, "", 0},
		{"two objects", "application/json", row + row, ReasonInvalidBody, "", 0},
		{"null", "application/json", "null", ReasonInvalidBody, "", 0},
		{"string", "application/json", `"x"`, ReasonInvalidBody, "", 0},
		{"JSON declared, CSV sent", "application/json", csvMany(1), ReasonInvalidBody, "", 0},
		{"form body", "application/x-www-form-urlencoded", "lead_id=" + lead16 + "&stage=Lead&timestamp=1795428000",
			ReasonInvalidBody, "lead_id", 0},
		{"CSV without the time column", "text/csv", "lead_id,event_name\n" + lead16 + ",Lead\n",
			ReasonInvalidBody, "event_time", 0},
		{"empty array", "", "[]", "", "", 0},
		{"max events", "", many(MaxCRMEvents), "", "", MaxCRMEvents},
		{"too many events", "", many(MaxCRMEvents + 1), ReasonTooManyEvents, "", 0},
		{"too many events, then garbage", "", many(MaxCRMEvents + 1)[:len(many(MaxCRMEvents+1))-10] + "garbage",
			ReasonTooManyEvents, "", 0},
		{"max CSV rows", "text/csv", csvMany(MaxCRMEvents), "", "", MaxCRMEvents},
		{"too many CSV rows", "text/csv", csvMany(MaxCRMEvents + 1), ReasonTooManyEvents, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, rejected, err := ParseCRMEvents([]byte(tt.body), tt.contentType, CRMMapping{}, crmNow)
			checkRejection(t, err, tt.reason, tt.param)
			if len(events) != tt.events || len(rejected) != 0 {
				t.Fatalf("%d events, %d rejected (%+v); want %d events",
					len(events), len(rejected), rejected[:min(len(rejected), 3)], tt.events)
			}
			if err != nil && (events != nil || rejected != nil) {
				t.Fatal("a refused body returns events")
			}
		})
	}
}

func TestCRMPaths(t *testing.T) {
	body := `{"a.b": "` + lead16 + `", "a": {"b": "` + lead15 + `", "list": [{"stage": "Won"}]},
		"t": {"value": {"value": 1795428000}}, "when": {"value": 1795428000, "timestamp": 1}}`
	tests := []struct {
		name    string
		mapping CRMMapping
		want    CRMEvent
		reason  string
	}{
		{"dotted key found whole first", CRMMapping{LeadID: "a.b", EventName: "a.list.0.stage", EventTime: "when"},
			CRMEvent{LeadID: lead16, EventName: "Won", EventTime: time.Unix(1795428000, 0).UTC()}, ""},
		{"nested path", CRMMapping{LeadID: "a..b", EventName: "a.list.0.stage", EventTime: "when"},
			CRMEvent{}, ReasonBadLeadID},
		{"index out of range", CRMMapping{LeadID: "a.b", EventName: "a.list.1.stage", EventTime: "when"},
			CRMEvent{}, ReasonMissingStage},
		{"index not a number", CRMMapping{LeadID: "a.b", EventName: "a.list.x.stage", EventTime: "when"},
			CRMEvent{}, ReasonMissingStage},
		{"value wrapper unwraps once", CRMMapping{LeadID: "a.b", EventName: "a.list.0.stage", EventTime: "t"},
			CRMEvent{}, ReasonBadTime},
		{"object is not a stage", CRMMapping{LeadID: "a.b", EventName: "a.list.0", EventTime: "when"},
			CRMEvent{}, ReasonBadStage},
		{"path through a string", CRMMapping{LeadID: "a.b.c", EventName: "a.list.0.stage", EventTime: "when"},
			CRMEvent{}, ReasonBadLeadID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, rejected, err := ParseCRMEvents([]byte(body), "application/json", tt.mapping, crmNow)
			if err != nil {
				t.Fatal(err)
			}
			if tt.reason == "" {
				if len(events) != 1 || events[0] != tt.want {
					t.Fatalf("events %+v rejected %+v, want %+v", events, rejected, tt.want)
				}
				return
			}
			if len(rejected) != 1 || rejected[0].Reason != tt.reason {
				t.Fatalf("events %+v rejected %+v, want %s", events, rejected, tt.reason)
			}
		})
	}
}

func TestCRMRejectDetail(t *testing.T) {
	long := strings.Repeat("é", 100)
	body := `[{"lead_id": "` + long + `", "event_name": "x", "event_time": 1},
		{"lead_id": "` + lead16 + `", "event_name": "Lead", "event_time": "` + long + `"}]`
	_, rejected, err := ParseCRMEvents([]byte(body), "", CRMMapping{}, crmNow)
	if err != nil || len(rejected) != 2 {
		t.Fatalf("rejected %+v, %v", rejected, err)
	}
	for _, r := range rejected {
		if len(r.Detail) > 200 || !strings.Contains(r.Detail, "...") {
			t.Errorf("detail %q is not bounded", r.Detail)
		}
	}
	if want := `lead_id "` + strings.Repeat("é", 32) + `"... is not 15 to 17 digits`; rejected[0].Detail != want {
		t.Errorf("detail %q, want %q", rejected[0].Detail, want)
	}
}

func TestCRMPresets(t *testing.T) {
	names := CRMPresetNames()
	if !slices.IsSorted(names) {
		t.Errorf("CRMPresetNames() = %q is not sorted", names)
	}
	for _, name := range names {
		m := mustCRMPreset(t, name)
		if m.LeadID == "" || m.EventName == "" || m.EventTime == "" || m.Validate() != nil {
			t.Errorf("preset %s = %+v", name, m)
		}
		if upper, ok := CRMPreset(strings.ToUpper(name)); !ok || upper != m {
			t.Errorf("CRMPreset(%q) = %+v, %v", strings.ToUpper(name), upper, ok)
		}
	}
	if _, ok := CRMPreset("pipedrive"); ok {
		t.Error("unknown preset found")
	}
	if got, want := mustCRMPreset(t, "generic"), (CRMMapping{"lead_id", "event_name", "event_time"}); got != want {
		t.Errorf("generic = %+v", got)
	}
	if got, want := mustCRMPreset(t, "zapier"), (CRMMapping{"lead_id", "stage", "timestamp"}); got != want {
		t.Errorf("zapier = %+v", got)
	}
	sf := mustCRMPreset(t, "salesforce").WithOverrides(CRMMapping{LeadID: "Facebook_Lead_ID__c"})
	if want := (CRMMapping{"Facebook_Lead_ID__c", "Status", "LastModifiedDate"}); sf != want {
		t.Errorf("WithOverrides = %+v, want %+v", sf, want)
	}
}

func TestCRMMappingValidate(t *testing.T) {
	tests := []struct {
		name  string
		m     CRMMapping
		param string
	}{
		{"empty means generic", CRMMapping{}, ""},
		{"dotted", CRMMapping{EventName: "properties.hs_lead_status"}, ""},
		{"spaces", CRMMapping{LeadID: "Lead ID"}, ""},
		{"control", CRMMapping{EventName: "a\tb"}, "event_name"},
		{"invalid UTF-8", CRMMapping{EventTime: "\xff"}, "event_time"},
		{"too long", CRMMapping{LeadID: strings.Repeat("a", 257)}, "lead_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason := ""
			if tt.param != "" {
				reason = ReasonInvalidMapping
			}
			checkRejection(t, tt.m.Validate(), reason, tt.param)
		})
	}
}

// TestCRMReasonsAreStable pins the wire names.
func TestCRMReasonsAreStable(t *testing.T) {
	got := []string{ReasonInvalidBody, ReasonTooManyEvents, ReasonBadLeadID, ReasonMissingStage, ReasonBadStage,
		ReasonBadTime, ReasonFutureTime, ReasonTooOld, ReasonInvalidEvent, ReasonBeforeFirstEvent}
	want := []string{"invalid_body", "too_many_events", "bad_lead_id", "missing_stage", "bad_stage",
		"bad_time", "future_time", "too_old", "invalid_event", "before_first_event"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reasons = %q", got)
	}
	var rej *Rejection
	_, _, err := ParseCRMEvents(nil, "", CRMMapping{}, crmNow)
	if !errors.As(err, &rej) {
		t.Errorf("error %v is not a *Rejection", err)
	}
}

func TestParseCRMEventsOwnsItsStrings(t *testing.T) {
	for _, ct := range []string{"application/json", "text/csv"} {
		body := []byte(`{"lead_id":"` + lead16 + `","event_name":"Lead","event_time":1795428000}`)
		if ct == "text/csv" {
			body = []byte("lead_id,event_name,event_time\n" + lead16 + ",Lead,1795428000\n")
		}
		events, _, err := ParseCRMEvents(body, ct, CRMMapping{}, crmNow)
		if err != nil || len(events) != 1 {
			t.Fatalf("%s: %+v, %v", ct, events, err)
		}
		for i := range body {
			body[i] = 'X'
		}
		if events[0].LeadID != lead16 || events[0].EventName != "Lead" {
			t.Errorf("%s: after reusing the body: %+v", ct, events[0])
		}
	}
}

func BenchmarkParseCRMEvents(b *testing.B) {
	row := `{"lead_id":"` + lead16 + `","event_name":"Marketing Qualified Lead","event_time":"2026-11-23T10:00:00Z"}`
	body := []byte("[" + strings.TrimSuffix(strings.Repeat(row+",", 1000), ",") + "]")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if events, _, err := ParseCRMEvents(body, "application/json", CRMMapping{}, crmNow); err != nil || len(events) != 1000 {
			b.Fatal(len(events), err)
		}
	}
}

// A quote opened and never closed costs its own row, not the file.
func TestParseCRMEventsCSVStrayQuote(t *testing.T) {
	body := "lead_id,event_name,event_time\n" + lead16 + `,"Lead,1795428000` + "\n" + lead16 + ",Lead,1795428000\n"
	events, rejected, err := ParseCRMEvents([]byte(body), "text/csv", CRMMapping{}, crmNow)
	if err != nil {
		t.Fatalf("the whole body was refused: %v", err)
	}
	if len(events) != 1 || events[0].Index != 1 || len(rejected) != 1 || rejected[0].Index != 0 ||
		!strings.HasPrefix(rejected[0].Detail, "line 2: ") {
		t.Fatalf("events %+v, rejected %+v; want row 1 kept, row 0 (line 2) rejected", events, rejected)
	}
}
