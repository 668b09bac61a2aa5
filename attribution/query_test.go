package attribution

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		want   []Param
		reason string
		param  string
	}{
		{"two params", "a=1&b=2", []Param{{"a", "1"}, {"b", "2"}}, "", ""},
		{"empty query", "", nil, "", ""},
		{"plus is a space", "q=a+b", []Param{{"q", "a b"}}, "", ""},
		{"encoded plus", "q=a%2Bb", []Param{{"q", "a+b"}}, "", ""},
		{"encoded key", "e%6Dail=x", []Param{{"email", "x"}}, "", ""},
		{"lower-case hex", "q=%c3%a9", []Param{{"q", "\u00e9"}}, "", ""},
		{"empty segments skipped", "&a=1&&b=2&", []Param{{"a", "1"}, {"b", "2"}}, "", ""},
		{"no equals sign", "flag&a=1", []Param{{"flag", ""}, {"a", "1"}}, "", ""},
		{"empty value", "a=", []Param{{"a", ""}}, "", ""},
		{"semicolon is data", "a=1;b=2", []Param{{"a", "1;b=2"}}, "", ""},
		{"equals in value", "a=b=c", []Param{{"a", "b=c"}}, "", ""},
		{"repeated key kept", "a=1&a=2", []Param{{"a", "1"}, {"a", "2"}}, "", ""},
		{"raw UTF-8", "a=\u00e9", []Param{{"a", "\u00e9"}}, "", ""},
		{"raw percent placeholder kept", "email=%EMAIL%", []Param{{"email", "%EMAIL%"}}, "", ""},
		{"50 params", strings.Repeat("a=1&", MaxParams), slices.Repeat([]Param{{"a", "1"}}, MaxParams), "", ""},
		{"1024-byte value", "a=" + strings.Repeat("x", MaxParamBytes), []Param{{"a", strings.Repeat("x", MaxParamBytes)}}, "", ""},
		{"1024 bytes encoded", "a=" + strings.Repeat("%41", MaxParamBytes), []Param{{"a", strings.Repeat("A", MaxParamBytes)}}, "", ""},

		{"51 params", strings.Repeat("a=1&", MaxParams+1), nil, ReasonTooManyParams, ""},
		{"1025-byte value", "a=" + strings.Repeat("x", MaxParamBytes+1), nil, ReasonParamTooLong, "a"},
		{"1025-byte key", strings.Repeat("k", MaxParamBytes+1) + "=1", nil, ReasonParamTooLong, strings.Repeat("k", maxParamName)},
		{"query too long", "a=" + strings.Repeat("x", MaxQueryBytes-1), nil, ReasonQueryTooLong, ""},
		{"bad hex", "a=%zz", nil, ReasonInvalidEncoding, "a"},
		{"one bad hex digit", "a=%4z", nil, ReasonInvalidEncoding, "a"},
		{"lone percent", "a=%", nil, ReasonInvalidEncoding, "a"},
		{"truncated escape", "a=%C", nil, ReasonInvalidEncoding, "a"},
		{"truncated UTF-8", "a=%C3", nil, ReasonInvalidEncoding, "a"},
		{"overlong UTF-8", "a=%C0%AF", nil, ReasonInvalidEncoding, "a"},
		{"surrogate", "a=%ED%A0%80", nil, ReasonInvalidEncoding, "a"},
		{"encoded NUL", "a=%00", nil, ReasonInvalidEncoding, "a"},
		{"raw NUL", "a=\x00", nil, ReasonInvalidEncoding, "a"},
		{"raw invalid byte", "a=\xff", nil, ReasonInvalidEncoding, "a"},
		{"bad key escape", "%zz=1", nil, ReasonInvalidEncoding, "%zz"},
		{"NUL in key", "a%00=1", nil, ReasonInvalidEncoding, "a%00"},
		{"later bad param", "a=1&b=%zz", nil, ReasonInvalidEncoding, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseQuery([]byte(tt.raw))
			checkRejection(t, err, tt.reason, tt.param)
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseQuery(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseQueryLimitsAtTheEdge(t *testing.T) {
	raw := "a=" + strings.Repeat("x", MaxQueryBytes-2)
	if _, err := ParseQuery([]byte(raw)); err == nil || err.(*Rejection).Reason != ReasonParamTooLong {
		t.Fatalf("8192-byte query: %v, want param_too_long (not query_too_long)", err)
	}
	var b strings.Builder
	for i := range MaxParams {
		b.WriteString("k" + strconv.Itoa(i) + "=" + strings.Repeat("v", 100) + "&")
	}
	if _, err := ParseQuery([]byte(b.String())); err != nil {
		t.Fatalf("50 params of 100 bytes: %v", err)
	}
}

// TestParseQueryOwnsItsStrings: the request buffer is reused by the server
// once the handler returns.
func TestParseQueryOwnsItsStrings(t *testing.T) {
	raw := []byte("a=hello&b=w%C3%B6rld")
	got, err := ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		raw[i] = 'X'
	}
	want := []Param{{"a", "hello"}, {"b", "w\u00f6rld"}}
	if !slices.Equal(got, want) {
		t.Fatalf("after reusing the buffer: %q, want %q", got, want)
	}
}
