package attribution

// maxIDBytes bounds webinar ids, tags and account ids.
const maxIDBytes = 64

// ValidID reports whether s is a valid webinar id, tag or account id:
// 1 to 64 characters of A-Z a-z 0-9 _ . : - (safe in URLs, Redis keys, CSV
// cells and order keys, where ',', '#' and '|' are separators).
func ValidID(s string) bool { return validID(s) }

func validID[T ~string | ~[]byte](s T) bool {
	return len(s) <= maxIDBytes && tokenChars(s)
}
