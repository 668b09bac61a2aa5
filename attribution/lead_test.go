package attribution

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// testLeadSalt is the salt of SPEC §1.5's example.
const testLeadSalt = "4sq12z_1j#2mfs"

// leadRequest parses a raw query the way the server does and returns the
// lookup function and every key received, for ParseLead.
func leadRequest(t testing.TB, raw string) (func(string) []string, []string) {
	t.Helper()
	params, err := ParseQuery([]byte(raw))
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", raw, err)
	}
	keys := make([]string, len(params))
	for i, p := range params {
		keys[i] = p.Key
	}
	return paramValues(params), keys
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestLeadTokenSpecVector is SPEC §1.5's construction, checked two ways:
// against MD5 of the documented string, and against a digest computed
// outside Go with
//
//	printf '%s' 'john@example.com,John Doe,johnd,4sq12z_1j#2mfs' | md5sum
func TestLeadTokenSpecVector(t *testing.T) {
	values := map[string]string{"email": "john@example.com", "name": "John Doe", "screen_name": "johnd"}
	got := LeadToken(values, testLeadSalt)
	if want := md5Hex("john@example.com,John Doe,johnd," + testLeadSalt); got != want {
		t.Errorf("LeadToken = %s, MD5 of the documented string is %s", got, want)
	}
	if want := "592ab26a352742fc72c6a4f36cd13bde"; got != want {
		t.Errorf("LeadToken = %s, md5sum says %s", got, want)
	}
	// Twitter's own example (its address differs from the profile's: the
	// hash is over whatever the card submitted).
	twitter := map[string]string{"email": "jane_doe@gmail.com", "name": "Jane Doe", "screen_name": "@jane_doe"}
	if got, want := LeadToken(twitter, testLeadSalt), "079eb44357c6fb034f48ca79aad412c8"; got != want {
		t.Errorf("Twitter example: LeadToken = %s, want %s", got, want)
	}
}

func TestLeadToken(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]string
		salt   string
		input  string // what must be hashed
	}{
		{"default keys", map[string]string{"name": "Jane Doe", "email": "jane@x.com", "screen_name": "@jane"},
			testLeadSalt, "jane@x.com,Jane Doe,@jane," + testLeadSalt},
		{"custom keys, French", map[string]string{"nom_complet": "Zoé Dupont", "adresse_email": "zoe@x.fr", "pseudo": "zoe"},
			"s", "zoe@x.fr,Zoé Dupont,zoe,s"},
		{"custom keys reorder the values", map[string]string{"z_mail": "a@x.com", "a_name": "Al", "m_handle": "al"},
			"s", "Al,al,a@x.com,s"},
		{"commas and spaces kept", map[string]string{"name": "Doe, Jane ", "email": " jane@x.com", "screen_name": "j d"},
			"s", " jane@x.com,Doe, Jane ,j d,s"},
		{"non-ASCII", map[string]string{"name": "Σωκράτης 李", "email": "sokrates@x.gr", "screen_name": "σ"},
			"s", "sokrates@x.gr,Σωκράτης 李,σ,s"},
		{"hidden keys sort among the fields, upper case first", map[string]string{
			"name": "Jane", "email": "j@x.com", "screen_name": "jd", "UID": "1234", "source": "TWITTER", "campaign": "c1"},
			"s", "1234,c1,j@x.com,Jane,jd,TWITTER,s"},
		{"empty value", map[string]string{"name": "", "email": "j@x.com", "screen_name": "jd"},
			"s", "j@x.com,,jd,s"},
		{"salt with separators", map[string]string{"email": "j@x.com"}, "a,b c", "j@x.com,a,b c"},
		{"no values", map[string]string{}, "s", ",s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LeadToken(tt.values, tt.salt)
			if want := md5Hex(tt.input); got != want {
				t.Errorf("LeadToken = %s, want MD5(%q) = %s", got, tt.input, want)
			}
			if !CheckLeadToken(got, LeadToken(maps.Clone(tt.values), tt.salt)) {
				t.Error("the token does not check against itself")
			}
			if CheckLeadToken(got, LeadToken(tt.values, tt.salt+"x")) {
				t.Error("the token checks with the wrong salt")
			}
		})
	}
}

func TestCheckLeadToken(t *testing.T) {
	want := LeadToken(map[string]string{"email": "john@example.com"}, testLeadSalt)
	tests := []struct {
		name string
		got  string
		ok   bool
	}{
		{"same", want, true},
		{"upper-case hex", strings.ToUpper(want), true},
		{"spaces around", " " + want + "\n", true},
		{"empty", "", false},
		{"one digit off", want[:31] + string(want[31]^1), false},
		{"truncated", want[:31], false},
		{"longer", want + "0", false},
		{"not hex", strings.Repeat("g", 32), false},
		{"letter case only in non-hex", strings.Repeat("G", 32), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ok := CheckLeadToken(tt.got, want); ok != tt.ok {
				t.Errorf("CheckLeadToken(%q) = %v, want %v", tt.got, ok, tt.ok)
			}
		})
	}
	if CheckLeadToken("", "") {
		t.Error("empty tokens match")
	}
}

// leadView is the exported part of a Lead, for comparisons.
type leadView struct {
	Name, Email, ScreenName, Token string
	Hidden                         map[string]string
}

func viewLead(l Lead) leadView {
	return leadView{Name: l.Name, Email: l.Email, ScreenName: l.ScreenName, Token: l.Token, Hidden: l.Hidden}
}

func TestParseLead(t *testing.T) {
	specToken := "592ab26a352742fc72c6a4f36cd13bde"
	custom := LeadFields{Name: "nom_complet", Email: "adresse_email", ScreenName: "pseudo"}
	tests := []struct {
		name  string
		query string
		keys  LeadFields
		want  leadView
		// token check with testLeadSalt: without, then with the hidden values
		valid, validHidden bool
	}{
		{"card POST with token", "name=John+Doe&email=john%40example.com&screen_name=johnd&token=" + specToken,
			LeadFields{},
			leadView{Name: "John Doe", Email: "john@example.com", ScreenName: "johnd", Token: specToken},
			true, true},
		{"hidden values stored, not hashed", "name=John+Doe&email=john%40example.com&screen_name=johnd" +
			"&source=TWITTER&campaign=lead_gen_test&UID=1234&token=" + specToken,
			LeadFields{},
			leadView{Name: "John Doe", Email: "john@example.com", ScreenName: "johnd", Token: specToken,
				Hidden: map[string]string{"source": "TWITTER", "campaign": "lead_gen_test", "UID": "1234"}},
			true, false},
		{"hidden values hashed", "name=John+Doe&email=john%40example.com&screen_name=johnd&source=TWITTER&token=" +
			md5Hex("john@example.com,John Doe,johnd,TWITTER,"+testLeadSalt),
			LeadFields{},
			leadView{Name: "John Doe", Email: "john@example.com", ScreenName: "johnd",
				Token:  md5Hex("john@example.com,John Doe,johnd,TWITTER," + testLeadSalt),
				Hidden: map[string]string{"source": "TWITTER"}},
			false, true},
		{"custom key names", "nom_complet=Zo%C3%A9+Dupont&adresse_email=zoe%40x.fr&pseudo=%40zoe&token=" +
			md5Hex("zoe@x.fr,Zoé Dupont,@zoe,"+testLeadSalt),
			custom,
			leadView{Name: "Zoé Dupont", Email: "zoe@x.fr", ScreenName: "@zoe",
				Token: md5Hex("zoe@x.fr,Zoé Dupont,@zoe," + testLeadSalt)},
			true, true},
		{"default names are hidden under custom keys", "adresse_email=zoe%40x.fr&name=Zoe",
			custom,
			leadView{Email: "zoe@x.fr", Hidden: map[string]string{"name": "Zoe"}},
			false, false},
		{"raw values are hashed, stored ones are clean", "name=+Jane+&email=Jane.Doe%40Example.COM&screen_name=jd&token=" +
			strings.ToUpper(md5Hex("Jane.Doe@Example.COM, Jane ,jd,"+testLeadSalt)),
			LeadFields{},
			leadView{Name: "Jane", Email: "jane.doe@example.com", ScreenName: "jd",
				Token: strings.ToUpper(md5Hex("Jane.Doe@Example.COM, Jane ,jd," + testLeadSalt))},
			true, true},
		{"comma in a value", "name=Doe%2C+Jane&email=j%40x.com&token=" + md5Hex("j@x.com,Doe, Jane,"+testLeadSalt),
			LeadFields{},
			leadView{Name: "Doe, Jane", Email: "j@x.com", Token: md5Hex("j@x.com,Doe, Jane," + testLeadSalt)},
			true, true},
		{"absent fields are not hashed, empty ones are", "email=j%40x.com&screen_name=&token=" + md5Hex("j@x.com,,"+testLeadSalt),
			LeadFields{},
			leadView{Email: "j@x.com", Token: md5Hex("j@x.com,," + testLeadSalt)},
			true, true},
		{"no token", "email=j%40x.com", LeadFields{}, leadView{Email: "j@x.com"}, false, false},
		{"wrong token", "email=j%40x.com&token=" + md5Hex("j@x.com,other"), LeadFields{},
			leadView{Email: "j@x.com", Token: md5Hex("j@x.com,other")}, false, false},
		{"same value twice", "email=j%40x.com&email=J%40X.com&name=A&name=A+&k=v&k=v", LeadFields{},
			leadView{Email: "j@x.com", Name: "A", Hidden: map[string]string{"k": "v"}}, false, false},
		{"placeholder-looking values are data", "email=j%40x.com&name=%7Bname%7D", LeadFields{},
			leadView{Email: "j@x.com", Name: "{name}"}, false, false},
		{"email with its + lost", "email=john+tag%40x.com", LeadFields{},
			leadView{Email: "john+tag@x.com"}, false, false},
		{"ten hidden", "email=j%40x.com&h1=1&h2=2&h3=3&h4=4&h5=5&h6=6&h7=7&h8=8&h9=9&h10=10", LeadFields{},
			leadView{Email: "j@x.com", Hidden: map[string]string{"h1": "1", "h2": "2", "h3": "3", "h4": "4",
				"h5": "5", "h6": "6", "h7": "7", "h8": "8", "h9": "9", "h10": "10"}}, false, false},
		{"hidden value with spaces kept", "email=j%40x.com&campaign=+spring+sale+", LeadFields{},
			leadView{Email: "j@x.com", Hidden: map[string]string{"campaign": " spring sale "}}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values, all := leadRequest(t, tt.query)
			l, err := ParseLead(values, tt.keys, all)
			if err != nil {
				t.Fatalf("ParseLead: %v", err)
			}
			if got := viewLead(l); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseLead:\n got %+v\nwant %+v", got, tt.want)
			}
			if got := l.ValidToken(testLeadSalt, false); got != tt.valid {
				t.Errorf("ValidToken(salt, false) = %v, want %v", got, tt.valid)
			}
			if got := l.ValidToken(testLeadSalt, true); got != tt.validHidden {
				t.Errorf("ValidToken(salt, true) = %v, want %v", got, tt.validHidden)
			}
			if l.ValidToken(testLeadSalt+"x", false) || l.ValidToken(testLeadSalt+"x", true) {
				t.Error("ValidToken with a wrong salt")
			}
		})
	}
}

func TestLeadTokenValues(t *testing.T) {
	values, all := leadRequest(t, "name=+Jane+&email=J%40x.com&source=TWITTER&token=abc")
	l, err := ParseLead(values, LeadFields{}, all)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.TokenValues(false), map[string]string{"name": " Jane ", "email": "J@x.com"}; !maps.Equal(got, want) {
		t.Errorf("TokenValues(false) = %q, want %q", got, want)
	}
	got := l.TokenValues(true)
	if want := map[string]string{"name": " Jane ", "email": "J@x.com", "source": "TWITTER"}; !maps.Equal(got, want) {
		t.Errorf("TokenValues(true) = %q, want %q", got, want)
	}
	got["source"] = "changed"
	if l.Hidden["source"] != "TWITTER" {
		t.Error("TokenValues shares its map with the Lead")
	}
}

func TestParseLeadReasons(t *testing.T) {
	long := strings.Repeat("x", MaxLeadValueBytes+1)
	tests := []struct {
		name          string
		values        map[string][]string
		keys          LeadFields
		reason, param string
	}{
		{"missing email", map[string][]string{"name": {"Jane"}}, LeadFields{}, ReasonMissingEmail, "email"},
		{"blank email", map[string][]string{"email": {"  "}}, LeadFields{}, ReasonMissingEmail, "email"},
		{"missing custom email", map[string][]string{"email": {"j@x.com"}},
			LeadFields{Email: "adresse_email"}, ReasonMissingEmail, "adresse_email"},
		{"invalid email", map[string][]string{"email": {"jane"}}, LeadFields{}, ReasonInvalidEmail, "email"},
		{"zero-width email", map[string][]string{"email": {"ja\u200bne@x.com"}}, LeadFields{}, ReasonInvalidEmail, "email"},
		{"invalid custom email", map[string][]string{"mail": {"@x.com"}}, LeadFields{Email: "mail"}, ReasonInvalidEmail, "mail"},
		{"long name", map[string][]string{"email": {"j@x.com"}, "name": {long}}, LeadFields{}, ReasonParamTooLong, "name"},
		{"long hidden value", map[string][]string{"email": {"j@x.com"}, "utm": {long}}, LeadFields{}, ReasonParamTooLong, "utm"},
		{"long hidden key", map[string][]string{"email": {"j@x.com"}, long: {"v"}}, LeadFields{},
			ReasonParamTooLong, long[:maxParamName]},
		{"long token", map[string][]string{"email": {"j@x.com"}, "token": {long}}, LeadFields{}, ReasonParamTooLong, "token"},
		{"invalid UTF-8", map[string][]string{"email": {"j@x.com"}, "screen_name": {"\xff"}}, LeadFields{},
			ReasonInvalidEncoding, "screen_name"},
		{"NUL", map[string][]string{"email": {"j@x.com"}, "name": {"a\x00"}}, LeadFields{}, ReasonInvalidEncoding, "name"},
		{"NUL in hidden", map[string][]string{"email": {"j@x.com"}, "src": {"\x00"}}, LeadFields{}, ReasonInvalidEncoding, "src"},
		{"invalid hidden key", map[string][]string{"email": {"j@x.com"}, "k\xff": {"v"}}, LeadFields{},
			ReasonInvalidEncoding, "k\uFFFD"},
		{"two emails", map[string][]string{"email": {"a@x.com", "b@x.com"}}, LeadFields{}, ReasonDuplicateParam, "email"},
		{"two names", map[string][]string{"email": {"j@x.com"}, "name": {"A", "B"}}, LeadFields{}, ReasonDuplicateParam, "name"},
		{"two tokens", map[string][]string{"email": {"j@x.com"}, "token": {"a", "b"}}, LeadFields{}, ReasonDuplicateParam, "token"},
		{"two hidden values", map[string][]string{"email": {"j@x.com"}, "src": {"a", "b"}}, LeadFields{},
			ReasonDuplicateParam, "src"},
		{"eleven hidden", map[string][]string{"email": {"j@x.com"}, "h1": {"1"}, "h2": {"2"}, "h3": {"3"}, "h4": {"4"},
			"h5": {"5"}, "h6": {"6"}, "h7": {"7"}, "h8": {"8"}, "h9": {"9"}, "h10": {"10"}, "h11": {"11"}},
			LeadFields{}, ReasonTooManyHidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := make([]string, 0, len(tt.values))
			for k := range tt.values {
				all = append(all, k)
			}
			l, err := ParseLead(mapValues(tt.values), tt.keys, all)
			checkRejection(t, err, tt.reason, tt.param)
			if l.Email != "" {
				t.Errorf("rejected lead has email %q", l.Email)
			}
		})
	}
}

// TestParseLeadTokenOnError: a lead refused for its content still checks
// its token, so that a forged request is a 403 whatever else is wrong.
func TestParseLeadTokenOnError(t *testing.T) {
	good := md5Hex("Jane,jd," + testLeadSalt)
	tests := []struct {
		name, query, reason string
		token               string
		valid               bool
	}{
		{"missing email, genuine", "name=Jane&screen_name=jd&token=" + good, ReasonMissingEmail, good, true},
		{"missing email, forged", "name=Jane&screen_name=jd&token=" + md5Hex("x"), ReasonMissingEmail, md5Hex("x"), false},
		{"missing email, no token", "name=Jane&screen_name=jd", ReasonMissingEmail, "", false},
		{"invalid email, forged", "email=x&name=Jane&token=abc", ReasonInvalidEmail, "abc", false},
		{"too many hidden", "email=j%40x.com&a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&token=t",
			ReasonTooManyHidden, "t", false},
		{"encoding error keeps the token", "email=j%40x.com&name=1&name=2&token=t", ReasonDuplicateParam, "t", false},
		{"bad token keeps nothing", "email=j%40x.com&token=1&token=2", ReasonDuplicateParam, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values, all := leadRequest(t, tt.query)
			l, err := ParseLead(values, LeadFields{}, all)
			if rej, ok := err.(*Rejection); !ok || rej.Reason != tt.reason {
				t.Fatalf("error %v, want %s", err, tt.reason)
			}
			if l.Token != tt.token {
				t.Errorf("Token = %q, want %q", l.Token, tt.token)
			}
			if got := l.ValidToken(testLeadSalt, false); got != tt.valid {
				t.Errorf("ValidToken = %v, want %v", got, tt.valid)
			}
		})
	}
}

func TestParseLeadOwnsItsStrings(t *testing.T) {
	buf := []byte("Jane" + "j@x.com" + "@jd" + "tok" + "source" + "TWITTER")
	view := func(lo, hi int) string { return unsafe.String(&buf[lo], hi-lo) }
	m := map[string][]string{
		"name":        {view(0, 4)},
		"email":       {view(4, 11)},
		"screen_name": {view(11, 14)},
		"token":       {view(14, 17)},
		view(17, 23):  {view(23, 30)},
	}
	l, err := ParseLead(mapValues(m), LeadFields{}, []string{"name", "email", "screen_name", "token", view(17, 23)})
	if err != nil {
		t.Fatal(err)
	}
	before := l.TokenValues(true)
	for i := range buf {
		buf[i] = 'X'
	}
	want := leadView{Name: "Jane", Email: "j@x.com", ScreenName: "@jd", Token: "tok",
		Hidden: map[string]string{"source": "TWITTER"}}
	if got := viewLead(l); !reflect.DeepEqual(got, want) {
		t.Fatalf("after reusing the buffer:\n got %+v\nwant %+v", got, want)
	}
	if after := l.TokenValues(true); !maps.Equal(after, map[string]string{
		"name": "Jane", "email": "j@x.com", "screen_name": "@jd", "source": "TWITTER"}) || !maps.Equal(before, after) {
		t.Fatalf("token values after reusing the buffer: %q", after)
	}
}

func TestLeadFields(t *testing.T) {
	if got, want := (LeadFields{}).WithDefaults(), DefaultLeadFields(); got != want {
		t.Errorf("WithDefaults() = %+v, want %+v", got, want)
	}
	if got, want := (LeadFields{Email: "mail"}).WithDefaults(),
		(LeadFields{Name: "name", Email: "mail", ScreenName: "screen_name"}); got != want {
		t.Errorf("WithDefaults() = %+v, want %+v", got, want)
	}
	tests := []struct {
		name   string
		fields LeadFields
		param  string
	}{
		{"defaults", LeadFields{}, ""},
		{"custom", LeadFields{Name: "nom_complet", Email: "adresse_email", ScreenName: "pseudo"}, ""},
		{"token is reserved", LeadFields{Email: "token"}, "email"},
		{"same key twice", LeadFields{Name: "email"}, "email"},
		{"space", LeadFields{ScreenName: "screen name"}, "screen_name"},
		{"control", LeadFields{Name: "a\nb"}, "name"},
		{"invalid UTF-8", LeadFields{Name: "\xff"}, "name"},
		{"too long", LeadFields{Name: strings.Repeat("n", MaxLeadValueBytes+1)}, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason := ""
			if tt.param != "" {
				reason = ReasonInvalidMapping
			}
			checkRejection(t, tt.fields.Validate(), reason, tt.param)
		})
	}
}

// TestLeadReasonsAreStable pins the wire names.
func TestLeadReasonsAreStable(t *testing.T) {
	got := []string{ReasonMissingEmail, ReasonTooManyHidden, ReasonInvalidMapping}
	want := []string{"missing_email", "too_many_hidden", "invalid_mapping"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reasons = %q", got)
	}
}

// leadSeeds are card submissions, then truncated, malformed and oversized
// ones.
func leadSeeds() []string {
	full := "name=John+Doe&email=john%40example.com&screen_name=johnd&source=TWITTER&campaign=c1&UID=1234" +
		"&token=592ab26a352742fc72c6a4f36cd13bde"
	seeds := []string{
		"", full,
		"nom_complet=Zo%C3%A9&adresse_email=zoe%40x.fr&pseudo=%40zoe",
		"email=a%40x.com&email=b%40x.com", "email=J%40X.com&email=j%40x.com", "email=", "email=%E2%80%8Bj%40x.com",
		"email=j%40x.com&token=1&token=2", "email=j%40x.com&name=%2C%2C",
		"email=j%40x.com&" + strings.Repeat("h=1&", 20), "email=j%40x.com&a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11",
		"email=j%40x.com&name=" + strings.Repeat("n", MaxLeadValueBytes+1),
		"email=j%40x.com&" + strings.Repeat("k", MaxLeadValueBytes+1) + "=v",
	}
	for i := 1; i < len(full); i += 7 {
		seeds = append(seeds, full[:i])
	}
	return seeds
}

var leadReasons = []string{ReasonMissingEmail, ReasonInvalidEmail, ReasonTooManyHidden, ReasonDuplicateParam,
	ReasonParamTooLong, ReasonInvalidEncoding}

func FuzzParseLead(f *testing.F) {
	custom := LeadFields{Name: "nom_complet", Email: "adresse_email", ScreenName: "pseudo"}
	for _, s := range leadSeeds() {
		f.Add([]byte(s), false, "4sq12z_1j#2mfs")
		f.Add([]byte(s), true, "")
	}
	f.Fuzz(func(t *testing.T, raw []byte, useCustom bool, salt string) {
		params, err := ParseQuery(raw)
		if err != nil {
			return
		}
		keys := LeadFields{}
		if useCustom {
			keys = custom
		}
		all := make([]string, len(params))
		for i, p := range params {
			all[i] = p.Key
		}
		l, err := ParseLead(paramValues(params), keys, all)
		if err != nil {
			var rej *Rejection
			if !errors.As(err, &rej) || !slices.Contains(leadReasons, rej.Reason) {
				t.Fatalf("error %v (%T) is not a lead rejection", err, err)
			}
			if l.Email != "" {
				t.Fatalf("rejected lead has email %q", l.Email)
			}
			return
		}
		if e, err := NormalizeEmail(l.Email); err != nil || e != l.Email {
			t.Fatalf("email %q is not normalised", l.Email)
		}
		if len(l.Hidden) > MaxLeadHidden {
			t.Fatalf("%d hidden", len(l.Hidden))
		}
		k := keys.WithDefaults()
		for key := range l.Hidden {
			if key == LeadTokenParam || key == k.Name || key == k.Email || key == k.ScreenName {
				t.Fatalf("hidden key %q", key)
			}
		}
		for _, hidden := range []bool{false, true} {
			want := LeadToken(l.TokenValues(hidden), salt)
			if len(want) != 32 || strings.ToLower(want) != want {
				t.Fatalf("token %q", want)
			}
			if l.ValidToken(salt, hidden) != CheckLeadToken(l.Token, want) {
				t.Fatal("ValidToken disagrees with CheckLeadToken")
			}
			if !CheckLeadToken(strings.ToUpper(want), want) {
				t.Fatal("a token does not check against itself")
			}
		}
	})
}
