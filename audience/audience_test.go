package audience

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func ann() *Person {
	return &Person{
		AttendeeID: "e_ann", Email: "Ann@Example.com", Orders: 2,
		LTV: map[string]attribution.Micros{"EUR": 149_990_000, "USD": 5_000_000},
		Profile: map[string]string{
			attribution.FieldFirstName: " Ann ", attribution.FieldLastName: "Lee", attribution.FieldPhone: "06 12 34 56 78",
			attribution.FieldCountry: "France", attribution.FieldZip: "75011", attribution.FieldCity: "Paris",
			attribution.FieldBirthDate: "01/04/1990", attribution.FieldGender: "Femme", attribution.FieldGroup: "VIP",
		},
		Converted: []string{"w1"}, Registered: []string{"w1", "w2"},
		Activity: []time.Time{time.Date(2026, 10, 5, 9, 0, 0, 0, time.UTC)},
	}
}

func everyone(t *testing.T) *Selector {
	t.Helper()
	s, err := NewSelector(Filters{}, nil, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRows(t *testing.T) {
	s := everyone(t)
	for _, c := range []struct {
		platform Platform
		hashed   bool
		want     string
	}{
		{Google, false, "ann@example.com|+33612345678|Ann|Lee|FR|75011"},
		{Google, true, "71d4f55f72fa128dfb468a1a3901507c804b74316488744d769d7f4b16696476|" +
			"42d573cfc315801d4cd8eddd5416b416a0bf298b9b9e12d6b07442c91db42bd8|" +
			"49915e0d7d4b402e3017d010bc1c0e83cac6c797d6c16e66340fe3268693a6a1|" +
			"1508b697895abf03d55c3841f59236ab92c9ba6ba89795c8337fcf392fdee8b4|FR|75011"},
		{Meta, false, "ann@example.com|33612345678|ann|lee|75011|paris||fr|19900401|1990|f|36|149.99"},
		{Meta, true, "71d4f55f72fa128dfb468a1a3901507c804b74316488744d769d7f4b16696476|" +
			"8a3e7886c9335e82e02299fa3e87b46e2de3b0c63d56003e30a5029394a47661|" +
			"49915e0d7d4b402e3017d010bc1c0e83cac6c797d6c16e66340fe3268693a6a1|" +
			"1508b697895abf03d55c3841f59236ab92c9ba6ba89795c8337fcf392fdee8b4|" +
			"02561490e9af307159822035f8b9a4f32c82568ac651546408c0654e4d7933e8|" +
			"1670f2e42fefa5044d59a65349e47c566009488fc57d7b4376dd5787b59e3c57||" +
			"67ad8f41a7bb0a18c45f3efd8f6a32bdcd832bcf8f3f2eb44006c03d53076e18|" +
			"f205abdea4be3d837af21f0fa5b160df974864fbe4a7da8823d5690e22b83a75|" +
			"a7be8e1fe282a37cd666e0632b17d933fa13f21addf4798fc0455bc166e2488c|" +
			"252f10c83610ebca1a059c0bae8255eba2f95be4d1d7bcfa89d7248a82d9f111|" +
			"76a50887d8f1c2e9301755428990ad81479ee21c25b43215cf524541e0503269|149.99"},
	} {
		row, reason := s.Row(c.platform, c.hashed, ann(), "EUR", now)
		if got := strings.Join(row, "|"); got != c.want || reason != "" {
			t.Errorf("%s hashed=%v:\n got  %s (%s)\n want %s", c.platform, c.hashed, got, reason, c.want)
		}
		if len(row) != len(Headers[c.platform]) {
			t.Errorf("%s: %d cells for %d columns", c.platform, len(row), len(Headers[c.platform]))
		}
	}
}

func TestLeftOutByReason(t *testing.T) {
	s, err := NewSelector(Filters{ExcludeDomains: []string{"marketplace.example", "@relay.example."}}, nil, "EUR")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		platform Platform
		edit     func(p *Person)
		reason   string
	}{
		{"marketplace relay", Google, func(p *Person) { p.Email = "x123@shop.marketplace.example" }, "excluded_domain"},
		{"relay domain", Google, func(p *Person) { p.Email = "x@relay.example" }, "excluded_domain"},
		{"no phone", Google, func(p *Person) { delete(p.Profile, attribution.FieldPhone) }, "missing_phone"},
		{"phone with letters", Google, func(p *Person) { p.Profile[attribution.FieldPhone] = "call me" }, "invalid_phone"},
		{"national phone, unknown country code", Google, func(p *Person) { p.Profile[attribution.FieldCountry] = "AQ" }, "invalid_phone"},
		{"unknown country", Google, func(p *Person) {
			p.Profile[attribution.FieldCountry] = "Atlantis"
			p.Profile[attribution.FieldPhone] = "+33 6 12 34 56 78"
		}, "invalid_country"},
		{"no zip", Google, func(p *Person) { delete(p.Profile, attribution.FieldZip) }, "missing_zip"},
		{"no last name", Google, func(p *Person) { delete(p.Profile, attribution.FieldLastName) }, "missing_last_name"},
		{"Meta needs a city", Meta, func(p *Person) { delete(p.Profile, attribution.FieldCity) }, "missing_city"},
		{"Meta needs a birth date", Meta, func(p *Person) { delete(p.Profile, attribution.FieldBirthDate) }, "missing_dob"},
		{"a birth date in the future", Meta, func(p *Person) { p.Profile[attribution.FieldBirthDate] = "2030-01-01" }, "invalid_dob"},
		{"Google needs no city", Google, func(p *Person) { delete(p.Profile, attribution.FieldCity) }, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := ann()
			c.edit(p)
			if _, reason := s.Row(c.platform, false, p, "EUR", now); reason != c.reason {
				t.Errorf("reason %q, want %q", reason, c.reason)
			}
		})
	}
}

// A lead's full name stands for first and last names; a value already
// hashed passes through a hashed file.
func TestFullNameAndHashedValues(t *testing.T) {
	p := ann()
	delete(p.Profile, attribution.FieldFirstName)
	delete(p.Profile, attribution.FieldLastName)
	p.Profile[attribution.FieldName] = "Ann  Marie Lee"
	digest := "42D573CFC315801D4CD8EDDD5416B416A0BF298B9B9E12D6B07442C91DB42BD8"
	p.Profile[attribution.FieldPhone] = digest
	row, reason := everyone(t).Row(Google, true, p, "EUR", now)
	if reason != "" || row[1] != strings.ToLower(digest) || row[2] != "49915e0d7d4b402e3017d010bc1c0e83cac6c797d6c16e66340fe3268693a6a1" {
		t.Errorf("row %v (%s)", row, reason)
	}
	if row, _ := everyone(t).Row(Google, false, p, "EUR", now); row != nil && (row[2] != "Ann" || row[3] != "Marie Lee") {
		t.Errorf("plain names %v", row)
	}
}

func TestSelector(t *testing.T) {
	yes, no := true, false
	for _, c := range []struct {
		name     string
		f        Filters
		webinars []string
		want     bool
	}{
		{"everyone", Filters{}, nil, true},
		{"group, case ignored", Filters{Group: "vip"}, nil, true},
		{"another group", Filters{Group: "Gold"}, nil, false},
		{"registered to the webinar", Filters{Webinar: "w2"}, []string{"w2"}, true},
		{"a tag none of its webinars", Filters{Tag: "t"}, []string{"w9"}, false},
		{"customers", Filters{Converted: &yes}, nil, true},
		{"never bought", Filters{Converted: &no}, nil, false},
		{"min LTV met", Filters{MinLTV: "149.99"}, nil, true},
		{"min LTV not met", Filters{MinLTV: "150"}, nil, false},
		{"active in the period", Filters{From: "2026-10-05", To: "2026-10-05"}, nil, true},
		{"not active in the period", Filters{From: "2026-10-06"}, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewSelector(c.f, c.webinars, "EUR")
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Selects(ann()); got != c.want {
				t.Errorf("Selects = %v, want %v", got, c.want)
			}
		})
	}
	for _, f := range []Filters{{MinLTV: "abc"}, {From: "10/05/2026"}, {To: "tomorrow"}} {
		if _, err := NewSelector(f, nil, "EUR"); err == nil {
			t.Errorf("NewSelector(%+v) accepted", f)
		}
	}
}

func TestWriteCSVNeutralisesFormulas(t *testing.T) {
	var b bytes.Buffer
	rows := [][]string{{"=HYPERLINK(\"http://x\")", "+33612345678", "-2+3", "@SUM(A1)", "plain", "+1 (555) 010", "-12.50", "-1.", "-.5", "-"}}
	if err := WriteCSV(&b, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, rows); err != nil {
		t.Fatal(err)
	}
	want := "a,b,c,d,e,f,g,h,i,j\n\"'=HYPERLINK(\"\"http://x\"\")\",+33612345678,'-2+3,'@SUM(A1),plain,'+1 (555) 010,-12.50,'-1.,'-.5,'-\n"
	if b.String() != want {
		t.Errorf("csv:\n%s\nwant\n%s", b.String(), want)
	}
}

func TestPhoneDigits(t *testing.T) {
	for _, c := range []struct{ in, cc, want string }{
		{"06 12 34 56 78", "FR", "33612345678"},
		{"+33 6 12 34 56 78", "", "33612345678"},
		{"0033612345678", "", "33612345678"},
		{"(555) 010-4477", "US", "15550104477"},
		{"+1 555 010 4477 ext 3", "US", ""},
		{"12", "FR", ""},
		{"+0612345678", "", ""},
	} {
		if got := phoneDigits(c.in, c.cc); got != c.want {
			t.Errorf("phoneDigits(%q, %s) = %q, want %q", c.in, c.cc, got, c.want)
		}
	}
}
