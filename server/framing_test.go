package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A request with two different Content-Length headers is refused with 400
// and its connection closed, over a raw TCP connection (no HTTP client
// would send it); an identical repeat is one value.
func TestTwoContentLengthsRefused(t *testing.T) {
	h := newHarness(t, embeddedLedger(t))
	addr := strings.TrimPrefix(h.serve(), "http://")
	send := func(headers string) (*http.Response, *bufio.Reader, net.Conn) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
		req := "POST /v1/postback/" + h.acct + " HTTP/1.1\r\nHost: track.example.com\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
			headers + "\r\ncid=0123456789abcdef"
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(conn)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("no answer to %q: %v", headers, err)
		}
		return resp, r, conn
	}
	resp, r, _ := send("Content-Length: 5\r\nContent-Length: 20\r\n")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "ambiguous_content_length") {
		t.Errorf("two Content-Lengths: %d %s, want 400 ambiguous_content_length", resp.StatusCode, body)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("the connection stays open after an ambiguous request (read: %v), want it closed", err)
	}
	resp, _, _ = send("Content-Length: 20\r\ncontent-length: 20\r\n")
	if resp.StatusCode == 400 {
		b, _ := io.ReadAll(resp.Body)
		t.Errorf("an identical repeat was refused: %s", b)
	}
}
