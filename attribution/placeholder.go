package attribution

// IsPlaceholder reports a parameter value that carries no data: empty (or
// only spaces), or a template token the checkout platform did not
// substitute. Such a value counts as absent. Recognised tokens, the whole
// value after trimming spaces:
//
//	{{email}}  {email}  {checkout.email}  ${email}   (any {...})
//	%EMAIL%  [email]  *|EMAIL|*  <%= email %>
//	$email  $ORDER_ID   ($ and an identifier: "$49" is not a token)
func IsPlaceholder(v string) bool { return isPlaceholder(v) }

func isPlaceholder[T ~string | ~[]byte](v T) bool {
	v = trimSpace(v)
	n := len(v)
	if n == 0 {
		return true
	}
	first, last := v[0], v[n-1]
	switch {
	case first == '{' && last == '}': // Liquid, Handlebars, Mustache, {checkout.email}
		return true
	case first == '$' && n >= 3 && v[1] == '{' && last == '}': // ${email}
		return true
	case first == '$': // $email, $ORDER_ID
		return n >= 2 && (isLetter(v[1]) || v[1] == '_') && tokenChars(v[1:])
	case first == '%' && last == '%' && n >= 3: // %EMAIL%
		return tokenChars(v[1 : n-1])
	case first == '[' && last == ']' && n >= 3: // [email]
		return tokenChars(v[1 : n-1])
	case n >= 5 && first == '*' && v[1] == '|' && v[n-2] == '|' && last == '*': // Mailchimp *|EMAIL|*
		return true
	case n >= 4 && first == '<' && v[1] == '%' && v[n-2] == '%' && last == '>': // ERB, ASP
		return true
	}
	return false
}

// tokenChars reports a non-empty run of identifier characters: letters,
// digits, '_', '.', '-' and ':'.
func tokenChars[T ~string | ~[]byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !isLetter(c) && !('0' <= c && c <= '9') && c != '_' && c != '.' && c != '-' && c != ':' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}
