package attribution

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var importNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func summary(rows []Registrant, rejected []RowReject) string {
	var b strings.Builder
	for _, r := range rows {
		at := "-"
		if !r.RegisteredAt.IsZero() {
			at = r.RegisteredAt.Format(time.RFC3339)
		}
		fmt.Fprintf(&b, "%d %s %s; ", r.Index, r.Email, at)
	}
	for _, r := range rejected {
		fmt.Fprintf(&b, "%d %s; ", r.Index, r.Reason)
	}
	return b.String()
}

func TestParseRegistrants(t *testing.T) {
	for _, c := range []struct {
		name, ctype, body, want string
	}{
		{"json strings", "application/json", `[" Ann@Example.COM ", "bob@example.com"]`,
			"0 ann@example.com -; 1 bob@example.com -; "},
		{"json objects", "", `[{"email": "ann@example.com", "registered_at": "2026-11-20T10:00:00+01:00"}, {"email": "x"}, 3, {}]`,
			"0 ann@example.com 2026-11-20T09:00:00Z; 1 invalid_email; 2 invalid_row; 3 missing_email; "},
		{"json wrapped", "", `{"registrants": ["ann@example.com"]}`, "0 ann@example.com -; "},
		{"csv", "text/csv", "First name,E-mail,Registration date\nAnn,ann@example.com,2026-11-20\nBob,,2026-11-20\nCy,cy@example.com,tomorrow\nDi,di@example.com,2027-01-01\n",
			"0 ann@example.com 2026-11-20T00:00:00Z; 1 missing_email; 2 bad_time; 3 future_time; "},
		{"csv french semicolons", "", "\xef\xbb\xbfPrénom;Adresse e-mail;Date d'inscription\nAnn;ann@example.com;2026-11-20 10:00:00\n",
			"0 ann@example.com 2026-11-20T10:00:00Z; "},
		{"csv short row", "", "email,date\nann@example.com\n", "0 ann@example.com -; "},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, rej, err := ParseRegistrants([]byte(c.body), c.ctype, importNow)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(rows, rej); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestParseRegistrantsRefusesBody(t *testing.T) {
	many := "email\n" + strings.Repeat("a@example.com\n", MaxImportRows+1)
	for _, c := range []struct{ name, body, reason, param string }{
		{"empty", "", ReasonInvalidBody, ""},
		{"bad json", "[1,", ReasonInvalidBody, ""},
		{"json object", `{"email": "a@example.com"}`, ReasonInvalidBody, ""},
		{"no email column", "name,date\nAnn,2026-11-20\n", ReasonInvalidBody, "email"},
		{"too many", many, ReasonTooManyRows, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, rej, err := ParseRegistrants([]byte(c.body), "", importNow)
			var r *Rejection
			if !errors.As(err, &r) || r.Reason != c.reason || r.Param != c.param || rows != nil || rej != nil {
				t.Errorf("got %v (%v, %v), want %s %q", err, rows, rej, c.reason, c.param)
			}
		})
	}
}

func FuzzParseRegistrants(f *testing.F) {
	f.Add([]byte(`["a@example.com", {"email": "b@example.com", "registered_at": "1700000000"}]`), "")
	f.Add([]byte("email;date\na@example.com;2026-01-01\n"), "text/csv")
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		rows, rej, err := ParseRegistrants(body, ctype, importNow)
		if err != nil {
			return
		}
		for _, r := range rows {
			if n, err := NormalizeEmail(r.Email); err != nil || n != r.Email {
				t.Errorf("row %d: email %q not normalised", r.Index, r.Email)
			}
		}
		if len(rows)+len(rej) > MaxImportRows {
			t.Errorf("%d rows", len(rows)+len(rej))
		}
	})
}

func TestParseRegistrantsDetails(t *testing.T) {
	csv := "E-mail,First name,Last name,Phone,Pays,Code postal,Ville,Date of birth,Gender,Segment,Notes\n" +
		"ann@example.com, Ann ,Lee,06 12 34 56 78,FR,75011,Paris,1990-04-01,F,VIP,ignored\n" +
		"bob@example.com,Bob,,,,,,,,,\n" +
		"cy@example.com,\"Cy\x01\",,,,,,,,,\n"
	rows, rej, err := ParseRegistrants([]byte(csv), "text/csv", importNow)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{FieldFirstName: "Ann", FieldLastName: "Lee", FieldPhone: "06 12 34 56 78", FieldCountry: "FR",
		FieldZip: "75011", FieldCity: "Paris", FieldBirthDate: "1990-04-01", FieldGender: "F", FieldGroup: "VIP"}
	if len(rows) != 2 || fmt.Sprint(rows[0].Profile) != fmt.Sprint(want) {
		t.Errorf("rows %+v, want ann's details %v", rows, want)
	}
	if len(rows) == 2 && (rows[1].Profile[FieldFirstName] != "Bob" || len(rows[1].Profile) != 1) {
		t.Errorf("bob's details %v", rows[1].Profile)
	}
	if len(rej) != 1 || rej[0].Reason != ReasonInvalidField {
		t.Errorf("refused %+v, want cy's control character", rej)
	}

	rows, rej, err = ParseRegistrants([]byte(`[{"email": "ann@example.com", "phone": 33612345678, "first_name": "Ann"}, {"email": "b@example.com", "zip": {"x": 1}}]`), "", importNow)
	if err != nil || len(rows) != 1 || rows[0].Profile[FieldPhone] != "33612345678" || rows[0].Profile[FieldFirstName] != "Ann" {
		t.Errorf("json details: %+v, %v", rows, err)
	}
	if len(rej) != 1 || rej[0].Reason != ReasonInvalidField || rej[0].Index != 1 {
		t.Errorf("json refused %+v", rej)
	}
}

// A stray quote in one cell rejects at most its own row, with its line
// (issue 12, item 12).
func TestParseRegistrantsForgivesStrayQuotes(t *testing.T) {
	body := "email,first name\n" +
		"ann@example.com,Ann \"Bo\" Smith\n" + // a bare quote in a cell
		"bob@example.com,\"Bob\n" + // a quote opened and never closed
		"cy@example.com,Cy\n" +
		"\"di@example.com Di,x\n" + // the email cell swallows the row: not an email
		"ed@example.com,\"Ed \"\"E\"\" Jr\"\r\n" // quoted as it should be
	rows, rej, err := ParseRegistrants([]byte(body), "text/csv", importNow)
	if err != nil {
		t.Fatalf("the whole file was refused: %v", err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%d %s %q", r.Index, r.Email, r.Profile[FieldFirstName]))
	}
	for _, r := range rej {
		got = append(got, fmt.Sprintf("%d line %d %s: %s", r.Index, r.Line, r.Reason, r.Detail))
	}
	want := []string{
		`0 ann@example.com "Ann \"Bo\" Smith"`,
		`1 bob@example.com "Bob"`,
		`2 cy@example.com "Cy"`,
		`4 ed@example.com "Ed \"E\" Jr"`,
		`3 line 5 invalid_email: line 5: "di@example.com Di,x" is not an email address`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
