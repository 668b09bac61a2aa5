package attribution

import (
	"reflect"
	"strings"
	"testing"
)

// realisticPixel is a thank-you page pixel as a checkout fills it in.
const realisticPixel = "webinarId=4429&webinarId=2527&tag=course_sales" +
	"&email=John+Tag%40Gmail.com&amount=49.99&currency=usd&orderId=A-1001" +
	"&productId=sku-7&productName=Masterclass+Bundle" +
	"&utm_source=facebook&utm_medium=cpc&utm_campaign=spring_launch"

func TestParsePixel(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		want   PixelHit
		reason string
		param  string
	}{
		{"realistic", realisticPixel, PixelHit{
			Webinars: []string{"4429", "2527"}, Tags: []string{"course_sales"},
			Email: "john+tag@gmail.com", Amount: "49.99", Currency: "USD", OrderID: "A-1001",
			ProductID: "sku-7", ProductName: "Masterclass Bundle",
		}, "", ""},
		{"empty query", "", PixelHit{}, "", ""},
		{"repeated webinars deduped in order", "webinarId=b&webinarId=a&webinarId=b&webinarId=c&webinarId=a",
			PixelHit{Webinars: []string{"b", "a", "c"}}, "", ""},
		{"repeated tags deduped", "tag=x&tag=y&tag=x", PixelHit{Tags: []string{"x", "y"}}, "", ""},
		{"a tag may share a webinar's name", "webinarId=x&tag=x", PixelHit{Webinars: []string{"x"}, Tags: []string{"x"}}, "", ""},
		{"key case ignored", "WEBINARID=1&webinarid=2&OrderID=o&Email=a@b.co&CURRENCY=eur",
			PixelHit{Webinars: []string{"1", "2"}, OrderID: "o", Email: "a@b.co", Currency: "EUR"}, "", ""},
		{"other spellings ignored", "webinar_id=1&order_id=2", PixelHit{}, "", ""},
		{"unknown params ignored", "utm_source=fb&fbclid=abc&x", PixelHit{}, "", ""},
		{"email plus decoded to space restored", "email=john+tag@gmail.com", PixelHit{Email: "john+tag@gmail.com"}, "", ""},
		{"email encoded", "email=john%2Btag%40gmail.com", PixelHit{Email: "john+tag@gmail.com"}, "", ""},
		{"values trimmed", "amount=+49.99+&orderId=%20A-1%20&webinarId=+7", PixelHit{Webinars: []string{"7"}, Amount: "49.99", OrderID: "A-1"}, "", ""},
		{"amount kept unparsed", "amount=49,99", PixelHit{Amount: "49,99"}, "", ""},
		{"product name with unicode", "productName=Caf%C3%A9+%E2%80%94+Kurs", PixelHit{ProductName: "Caf\u00e9 \u2014 Kurs"}, "", ""},

		{"placeholders are absent", "webinarId=1&email={{email}}&amount={{total_price}}&currency={currency}&orderId={{order_number}}&productId=[product_id]&productName=%25PRODUCT%25",
			PixelHit{Webinars: []string{"1"}}, "", ""},
		{"raw percent placeholders are absent", "email=%EMAIL%&amount=%AMOUNT%&orderId=%ORDER_ID%", PixelHit{}, "", ""},
		{"encoded braces placeholder", "email=%7B%7Bemail%7D%7D", PixelHit{}, "", ""},
		{"dotted placeholder", "email={checkout.email}", PixelHit{}, "", ""},
		{"bracket placeholder", "email=[email]", PixelHit{}, "", ""},
		{"placeholder webinar and tag", "webinarId={{webinar}}&tag=%TAG%", PixelHit{}, "", ""},
		{"empty values are absent", "email=&amount=&currency=&webinarId=&tag=", PixelHit{}, "", ""},
		{"placeholder then value", "email={{email}}&email=a@b.co", PixelHit{Email: "a@b.co"}, "", ""},
		{"same value twice", "amount=5&amount=5&orderId=A&orderId=A", PixelHit{Amount: "5", OrderID: "A"}, "", ""},
		{"same currency in other case", "currency=usd&currency=USD", PixelHit{Currency: "USD"}, "", ""},
		{"same email in other form", "email=A@B.co&email=a@b.co", PixelHit{Email: "a@b.co"}, "", ""},
		{"same email with plus and space", "email=a%2Bb@c.co&email=a+b@c.co", PixelHit{Email: "a+b@c.co"}, "", ""},

		{"two amounts", "amount=5&amount=6", PixelHit{}, ReasonDuplicateParam, "amount"},
		{"two currencies", "currency=USD&currency=EUR", PixelHit{}, ReasonDuplicateParam, "currency"},
		{"two order ids", "orderId=A&orderId=B", PixelHit{}, ReasonDuplicateParam, "orderId"},
		{"two emails", "email=a@b.co&email=c@d.co", PixelHit{}, ReasonDuplicateParam, "email"},
		{"two product ids", "productId=1&productId=2", PixelHit{}, ReasonDuplicateParam, "productId"},
		{"two product names", "productName=a&productName=b", PixelHit{}, ReasonDuplicateParam, "productName"},
		{"duplicate across key case", "amount=5&AMOUNT=6", PixelHit{}, ReasonDuplicateParam, "amount"},
		{"bad webinar id", "webinarId=44/29", PixelHit{}, ReasonInvalidWebinarID, "webinarId"},
		{"long webinar id", "webinarId=" + strings.Repeat("w", 65), PixelHit{}, ReasonInvalidWebinarID, "webinarId"},
		{"bad tag", "tag=course+sales", PixelHit{}, ReasonInvalidTag, "tag"},
		{"bad currency", "currency=US", PixelHit{}, ReasonInvalidCurrency, "currency"},
		{"bad email", "email=john", PixelHit{}, ReasonInvalidEmail, "email"},
		{"zero-width email", "email=jo%E2%80%8Bhn@gmail.com", PixelHit{}, ReasonInvalidEmail, "email"},
		{"full-width at in email", "email=john%EF%BC%A0gmail.com", PixelHit{}, ReasonInvalidEmail, "email"},
		{"order id of 128 bytes", "orderId=" + strings.Repeat("o", 128), PixelHit{OrderID: strings.Repeat("o", 128)}, "", ""},
		{"order id of 129 bytes", "orderId=" + strings.Repeat("o", 129), PixelHit{}, ReasonInvalidOrderID, "orderId"},
		{"order id with a control char", "orderId=A%09B", PixelHit{}, ReasonInvalidOrderID, "orderId"},
		{"order id with a C1 control", "orderId=A%C2%85B", PixelHit{}, ReasonInvalidOrderID, "orderId"},
		{"product id of 257 bytes", "productId=" + strings.Repeat("p", 257), PixelHit{}, ReasonInvalidProduct, "productId"},
		{"product name with newline", "productName=a%0Ab", PixelHit{}, ReasonInvalidProduct, "productName"},
		{"bad escape in an ignored param", "utm_source=%zz", PixelHit{}, ReasonInvalidEncoding, "utm_source"},
		{"NUL in email", "email=a%00@b.co", PixelHit{}, ReasonInvalidEncoding, "email"},
		{"invalid UTF-8", "productName=%FF", PixelHit{}, ReasonInvalidEncoding, "productName"},
		{"too many params", strings.Repeat("utm=1&", MaxParams+1), PixelHit{}, ReasonTooManyParams, ""},
		{"value too long", "utm_content=" + strings.Repeat("x", MaxParamBytes+1), PixelHit{}, ReasonParamTooLong, "utm_content"},
		{"query too long", strings.Repeat("x", MaxQueryBytes+1), PixelHit{}, ReasonQueryTooLong, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePixel([]byte(tt.raw))
			checkRejection(t, err, tt.reason, tt.param)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParsePixel(%q)\n got %#v\nwant %#v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseRegistration(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		want   RegistrationHit
		reason string
		param  string
	}{
		{"webinar and email", "webinarId=4429&email=Ann%40Example.com", RegistrationHit{Webinars: []string{"4429"}, Email: "ann@example.com"}, "", ""},
		{"tags deduped", "tag=a&tag=b&tag=a", RegistrationHit{Tags: []string{"a", "b"}}, "", ""},
		{"email placeholder absent", "webinarId=1&email={{email}}", RegistrationHit{Webinars: []string{"1"}}, "", ""},
		{"conversion params ignored", "webinarId=1&amount=abc&amount=def&currency=XYZ&orderId=%09", RegistrationHit{Webinars: []string{"1"}}, "", ""},
		{"bad webinar", "webinarId=a+b", RegistrationHit{}, ReasonInvalidWebinarID, "webinarId"},
		{"bad email", "email=ann", RegistrationHit{}, ReasonInvalidEmail, "email"},
		{"two emails", "email=a@b.co&email=c@d.co", RegistrationHit{}, ReasonDuplicateParam, "email"},
		{"bad encoding", "webinarId=%C3", RegistrationHit{}, ReasonInvalidEncoding, "webinarId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRegistration([]byte(tt.raw))
			checkRejection(t, err, tt.reason, tt.param)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseRegistration(%q)\n got %#v\nwant %#v", tt.raw, got, tt.want)
			}
		})
	}
}

// TestParsePixelOwnsItsStrings: the request buffer is reused by the server
// once the handler returns.
func TestParsePixelOwnsItsStrings(t *testing.T) {
	raw := []byte(realisticPixel)
	got, err := ParsePixel(raw)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ParsePixel([]byte(realisticPixel))
	for i := range raw {
		raw[i] = '%'
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reusing the buffer:\n got %#v\nwant %#v", got, want)
	}
}

func TestParsePixelAllocations(t *testing.T) {
	raw := []byte(realisticPixel)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParsePixel(raw); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 4 {
		t.Errorf("ParsePixel costs %v allocations, want at most 4", allocs)
	}
}

func BenchmarkParsePixel(b *testing.B) {
	raw := []byte(realisticPixel)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := ParsePixel(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePixelRejected(b *testing.B) {
	raw := []byte("webinarId=w1&amount=1e9&email=a%40b.co&" + strings.Repeat("utm=x&", 10) + "bad=%zz")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePixel(raw); err == nil {
			b.Fatal("accepted")
		}
	}
}
