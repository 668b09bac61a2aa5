package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

// importBody posts an import and decodes the answer.
func (h *harness) importBody(webinar, ctype, body string, want int) map[string]any {
	h.t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/accounts/"+h.acct+"/webinars/"+webinar+"/registrants", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", ctype)
	resp := h.do(req)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		h.t.Fatalf("import: status %d, want %d: %s", resp.StatusCode, want, b)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		h.t.Fatalf("import answer %s: %v", b, err)
	}
	return out
}

// A webinar platform's CSV export becomes registrants with their
// registration times; importing it again changes nothing; the bad rows are
// answered by index; a registrant who buys later converts for the webinar.
func TestImportRegistrants(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l)
		csv := "First name;Adresse e-mail;Date d'inscription\n" +
			"Ann;Ann@Example.com;2026-02-01 09:30:00\n" +
			"Bob;bob@example.com;\n" +
			"Cy;not-an-email;2026-02-01\n" +
			"Di;ann@example.com;2026-02-02\n"
		out := h.importBody("w1", "text/csv", csv, 200)
		if out["total"] != 4.0 || out["accepted"] != 2.0 || out["updated"] != 1.0 || out["rejected"] != 1.0 {
			t.Errorf("first import: %v", out)
		}
		rows := out["rows"].([]any)
		if r := rows[2].(map[string]any); r["index"] != 2.0 || r["reason"] != "invalid_email" || !strings.Contains(fmt.Sprint(r["detail"]), "line 4") {
			t.Errorf("row 2: %v", r)
		}
		// Ann again, under another first name: registered already, details updated.
		if r := rows[3].(map[string]any); r["status"] != "updated" {
			t.Errorf("row 3 (ann again): %v", r)
		}
		if p, err := l.Profile(t.Context(), h.acct, attribution.EmailAttendeeID("ann@example.com")); err != nil || p["first_name"] != "Di" {
			t.Errorf("ann's profile: %v, %v", p, err)
		}

		again := h.importBody("w1", "application/json", `["ann@example.com", {"email": "bob@example.com"}]`, 200)
		if again["accepted"] != 0.0 || again["duplicate"] != 2.0 {
			t.Errorf("second import: %v", again)
		}
		if st := h.stats("w1"); st["registrants"] != 2.0 {
			t.Errorf("stats after imports: %v", st)
		}
		h.pixel("webinarId=w1&email=ann@example.com&amount=50&orderId=A1")
		if st := h.stats("w1"); st["converted"] != 1.0 || st["conversion_rate"] != 0.5 {
			t.Errorf("stats after a purchase: %v", st)
		}
		list := h.rawAPI("GET", "/accounts/"+h.acct+"/registrants.csv?webinarId=w1")
		if !strings.Contains(list, "ann@example.com,e_") || !strings.Contains(list, ",2026-02-01T09:30:00Z,true,1,1,50.00 USD") {
			t.Errorf("registrants.csv:\n%s", list)
		}
	})
}

func TestImportRegistrantsRefusesBadBodies(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	if out := h.importBody("w1", "text/csv", "name\nAnn\n", 400); out["error"] != "invalid_body" {
		t.Errorf("no email column: %v", out)
	}
	if out := h.importBody("w!1", "application/json", `["a@example.com"]`, 400); out["error"] != "invalid_webinar_id" {
		t.Errorf("bad webinar: %v", out)
	}
}

// A stray quote in one cell of a spreadsheet export does not refuse the
// file: every readable row is imported, a bad one is answered with its
// line (issue 12, item 12).
func TestImportRegistrantsForgivesStrayQuotes(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	csv := "email,first name\n" +
		"ann@example.com,Ann \"Bo\" Smith\n" +
		"\"bob@example.com Bob,x\n" +
		"cy@example.com,Cy\n"
	out := h.importBody("w1", "text/csv", csv, 200)
	if out["accepted"] != 2.0 || out["rejected"] != 1.0 {
		t.Fatalf("import: %v", out)
	}
	if r := out["rows"].([]any)[1].(map[string]any); r["line"] != 3.0 || r["reason"] != "invalid_email" {
		t.Errorf("row 1: %v, want rejected at line 3", r)
	}
	if st := h.stats("w1"); st["registrants"] != 2.0 {
		t.Errorf("stats: %v", st)
	}
}
