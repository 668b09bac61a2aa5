package attribution

import (
	"strings"
	"testing"
)

func TestRedactQuery(t *testing.T) {
	tests := []struct {
		name, raw string
		max       int
		want      string
	}{
		{"email", "email=a%40b.com&webinarId=1", 0, "email=REDACTED&webinarId=1"},
		{"token", "token=abc", 0, "token=REDACTED"},
		{"secret", "secret=abc", 0, "secret=REDACTED"},
		{"password", "password=abc", 0, "password=REDACTED"},
		{"access_token", "access_token=abc", 0, "access_token=REDACTED"},
		{"key", "key=abc", 0, "key=REDACTED"},
		{"sig", "sig=abc", 0, "sig=REDACTED"},
		{"signature", "signature=abc", 0, "signature=REDACTED"},
		{"key containing email", "customer_email=x", 0, "customer_email=REDACTED"},
		{"key containing token", "x_token_id=x", 0, "x_token_id=REDACTED"},
		{"key containing secret", "client_secret=x", 0, "client_secret=REDACTED"},
		{"api key", "api_key=x&apikey=y", 0, "api_key=REDACTED&apikey=REDACTED"},
		{"upper-case key", "EMAIL=x&Token=y", 0, "EMAIL=REDACTED&Token=REDACTED"},
		{"encoded key", "e%6Dail=x", 0, "e%6Dail=REDACTED"},
		{"plus in key", "e+mail=x", 0, "e+mail=REDACTED"},
		{"email under another name", "customer=ann%40example.com&u=bob@example.com", 0, "customer=REDACTED&u=REDACTED"},
		{"harmless keys kept", "keyword=go&tag=vip&monkey=1&amount=49.99", 0, "keyword=go&tag=vip&monkey=1&amount=49.99"},
		{"segment without value", "email&a=1", 0, "email&a=1"},
		{"empty value", "email=", 0, "email=REDACTED"},
		{"empty segments dropped", "&a=1&&b=2&", 0, "a=1&b=2"},
		{"malformed segment kept", "a=%zz&b=%", 0, "a=%zz&b=%"},
		{"malformed segment still redacted", "email=%zz&token=%C3", 0, "email=REDACTED&token=REDACTED"},
		{"malformed key still matched", "email%zz=1", 0, "email%zz=REDACTED"},
		{"non-printable bytes escaped", "a=\xff\x00 b\n", 0, "a=%FF%00%20b%0A"},
		{"raw UTF-8 escaped", "a=\u00e9", 0, "a=%C3%A9"},
		{"empty", "", 100, ""},
		{"no limit", "a=1&b=22&c=333", 0, "a=1&b=22&c=333"},
		{"cut at a boundary", "a=1&b=22&c=333", 8, "a=1&b=22"},
		{"cut before a partial param", "a=1&b=22&c=333", 7, "a=1"},
		{"first param too long", "a=1&b=22", 2, ""},
		{"redaction counted in the limit", "email=x&a=1", 14, "email=REDACTED"},
		{"escaping counted in the limit", "a=\xff&b=1", 4, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactQuery([]byte(tt.raw), tt.max); got != tt.want {
				t.Errorf("RedactQuery(%q, %d) = %q, want %q", tt.raw, tt.max, got, tt.want)
			}
		})
	}
}

func TestRedactQueryOversized(t *testing.T) {
	raw := []byte(strings.Repeat("email=a%40b.co&x=1&", 5000))
	got := RedactQuery(raw, 2048)
	if len(got) > 2048 || strings.Contains(got, "%40") {
		t.Fatalf("len %d, leaks an email: %v", len(got), strings.Contains(got, "%40"))
	}
}

// A network's secret is hidden whatever parameter carries it: the one the
// network configured, or any other whose value is a stored secret.
func TestRedactQueryWithSecrets(t *testing.T) {
	r := Redaction{Keys: []string{"auth"}, Values: []string{"S3CRET", "p@ss w"}}
	f := func(raw, want string) {
		t.Helper()
		if got := RedactQueryWith([]byte(raw), 0, r); got != want {
			t.Errorf("RedactQueryWith(%q) = %q, want %q", raw, got, want)
		}
	}
	f("cid=1&auth=S3CRET", "cid=1&auth=REDACTED")
	f("cid=1&AUTH=anything", "cid=1&AUTH=REDACTED")
	f("cid=1&a%75th=x", "cid=1&a%75th=REDACTED")
	f("cid=1&x=S3CRET", "cid=1&x=REDACTED")
	f("cid=1&x=S3%43RET", "cid=1&x=REDACTED")
	f("cid=1&x=p%40ss+w", "cid=1&x=REDACTED")
	f("cid=S3CRETX&authx=1", "cid=S3CRETX&authx=1")
	f("cid=", "cid=")
	if got := RedactQueryWith([]byte("a=&b=1"), 0, Redaction{Values: []string{""}}); got != "a=&b=1" {
		t.Errorf("an empty stored secret hid values: %q", got)
	}
}

func TestRedactQueryAllValues(t *testing.T) {
	if got := RedactQueryWith([]byte("cid=1&x=2&flag"), 0, Redaction{AllValues: true}); got != "cid=REDACTED&x=REDACTED&flag" {
		t.Errorf("got %q", got)
	}
}

// Personal fields are redacted like emails; labels that merely contain
// "name" are kept.
func TestRedactQueryPersonalFields(t *testing.T) {
	f := func(raw, want string) {
		t.Helper()
		if got := RedactQuery([]byte(raw), 0); got != want {
			t.Errorf("RedactQuery(%q) = %q, want %q", raw, got, want)
		}
	}
	f("name=Ann+Lovelace&productName=Course", "name=REDACTED&productName=Course")
	f("first_name=Ann&lastName=L&fullname=x", "first_name=REDACTED&lastName=REDACTED&fullname=REDACTED")
	f("phone=1555&tel=1&mobile=2&customer_phone=3", "phone=REDACTED&tel=REDACTED&mobile=REDACTED&customer_phone=REDACTED")
	f("dob=19151210&birthdate=1915&fn=a&ln=b&screen_name=h", "dob=REDACTED&birthdate=REDACTED&fn=REDACTED&ln=REDACTED&screen_name=REDACTED")
}

// BenchmarkRedactQuery: the query of a typical conversion pixel, redacted
// for its raw hit (once per hit).
func BenchmarkRedactQuery(b *testing.B) {
	raw := []byte("webinarId=4429&webinarId=2527&tag=course_sales&email=john%2Btag%40gmail.com&amount=49.99&currency=USD&orderId=A-10293&productId=p1&productName=Course")
	b.ReportAllocs()
	for b.Loop() {
		RedactQuery(raw, 2048)
	}
}
