package server

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage"
)

func (h *harness) download(path string) (int, string) {
	h.t.Helper()
	req := httptest.NewRequest("GET", "/api/v1"+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp := h.do(req)
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Registrants imported with their details and customers who bought become
// audience files for Google and Meta: the filters choose, the incomplete
// are counted by reason, the files have each platform's columns and
// normalisation; erasing a person takes them out of the stored files.
func TestAudienceExports(t *testing.T) {
	ledgers(t, func(t *testing.T, l storage.Ledger) {
		h := newHarness(t, l)
		h.api("PUT", "/accounts/"+h.acct, map[string]any{"name": "Test", "default_currency": "EUR"}, 200)
		csv := "Email;Prénom;Nom;Téléphone;Pays;Code postal;Ville;Date de naissance;Segment\n" +
			"ann@example.com;Ann;Lee;06 12 34 56 78;France;75011;Paris;01/04/1990;VIP\n" +
			"bob@example.com;Bob;Ray;+44 20 7946 0958;GB;SW1A 1AA;London;1985-12-31;\n" +
			"cy@example.com;Cy;;06 00 00 00 01;FR;69001;Lyon;1970-01-01;VIP\n" +
			"x9@marketplace.example;Di;Doe;06 00 00 00 02;FR;13001;Marseille;1970-01-01;VIP\n"
		h.importBody("w1", "text/csv", csv, 200)
		h.pixel("webinarId=w1&email=ann@example.com&amount=149.99&currency=EUR&orderId=A1")
		h.pixel("webinarId=w1&email=cy@example.com&amount=10&currency=EUR&orderId=C1")
		h.pixel("webinarId=w1&email=x9@marketplace.example&amount=10&currency=EUR&orderId=D1")
		a := "/accounts/" + h.acct + "/audiences/exports"

		google := h.api("POST", a, map[string]any{"platform": "google",
			"filters": map[string]any{"converted": true, "exclude_domains": []string{"marketplace.example"}}}, 201)
		if google["selected"] != 3.0 || google["rows"] != 1.0 ||
			google["excluded"].(map[string]any)["missing_last_name"] != 1.0 || google["excluded"].(map[string]any)["excluded_domain"] != 1.0 {
			t.Errorf("google export: %v", google)
		}
		code, file := h.download(a + "/" + google["id"].(string) + ".csv")
		if want := "Email,Phone,First Name,Last Name,Country,Zip\nann@example.com,+33612345678,Ann,Lee,FR,75011\n"; code != 200 || file != want {
			t.Errorf("google file (%d):\n%s\nwant\n%s", code, file, want)
		}

		h.clock.add(time.Second)
		meta := h.api("POST", a, map[string]any{"platform": "meta", "hashed": true, "filters": map[string]any{"group": "vip"}}, 201)
		if meta["selected"] != 3.0 || meta["rows"] != 2.0 { // ann, x9 (not excluded here); cy lacks a last name
			t.Errorf("meta export: %v", meta)
		}
		_, file = h.download(a + "/" + meta["id"].(string) + ".csv")
		lines := strings.Split(strings.TrimSpace(file), "\n")
		if len(lines) != 3 || lines[0] != "email,phone,fn,ln,zip,ct,st,country,dob,doby,gen,age,value" ||
			!strings.Contains(file, "71d4f55f72fa128dfb468a1a3901507c804b74316488744d769d7f4b16696476") ||
			!strings.Contains(file, ",149.99") {
			t.Errorf("meta file:\n%s", file)
		}

		list := h.api("GET", a, nil, 200)["exports"].([]any)
		if len(list) != 2 || list[0].(map[string]any)["id"] != meta["id"] {
			t.Errorf("history: %v", list)
		}

		// Ann asks to be forgotten: out of both stored files.
		h.clock.add(time.Second)
		out := h.api("DELETE", "/accounts/"+h.acct+"/attendees/ann@example.com", nil, 200)
		if out["export_rows"] != 2.0 {
			t.Errorf("erasure: %v", out)
		}
		if _, file := h.download(a + "/" + google["id"].(string) + ".csv"); strings.Contains(file, "ann@") {
			t.Errorf("the erased person is still in a file:\n%s", file)
		}
		for _, e := range h.api("GET", a, nil, 200)["exports"].([]any) {
			if e.(map[string]any)["id"] == google["id"] && e.(map[string]any)["rows"] != 0.0 {
				t.Errorf("history after the erasure: %v", e)
			}
		}

		h.api("DELETE", a+"/"+google["id"].(string), nil, 200)
		h.api("DELETE", a+"/"+google["id"].(string), nil, 404)
		if code, _ := h.download(a + "/" + google["id"].(string) + ".csv"); code != 404 {
			t.Errorf("a deleted export: %d", code)
		}
		h.api("POST", a, map[string]any{"platform": "tiktok"}, 400)
		h.api("POST", a, map[string]any{"platform": "meta", "filters": map[string]any{"min_ltv": "lots"}}, 400)
	})
}
