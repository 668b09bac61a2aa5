package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/pixelpost/pixelpost/internal/testenv"
)

// pixelpost migrate-ledger converts an account a build before layout 2
// wrote (here: an account record and an order hash), prints it, and marks
// it converted; without Redis it says what it needs.
func TestMigrateLedgerCommand(t *testing.T) {
	url := testenv.Redis(t)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := t.Context()
	var b [6]byte
	_, _ = rand.Read(b[:])
	acct := "mig" + hex.EncodeToString(b[:])
	p := "pp:{" + acct + "}:"
	if err := c.HSet(ctx, p+"account", "name", "Old", "cur", "USD").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.HSet(ctx, p+"o:0123456789abcdef0123456789abcdef01234567", "k", "o:1", "amt", "1000000", "cur", "USD",
		"w", `["w1"]`, "att", "", "src", "pixel", "fs", "1", "ls", "1").Err(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary(t), "migrate-ledger", "--redis-url", url, "--data-dir", t.TempDir()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "account "+acct+" converted") {
		t.Fatalf("migrate-ledger: %v\n%s", err, out)
	}
	if layout, err := c.HGet(ctx, p+"account", "layout").Result(); err != nil || layout != "2" {
		t.Errorf("account layout after migrate-ledger: %q, %v", layout, err)
	}
	if typ, _ := c.Type(ctx, p+"o:0123456789abcdef0123456789abcdef01234567").Result(); typ != "string" {
		t.Errorf("order after migrate-ledger is a %s, want the record string", typ)
	}
	out, err = exec.Command(binary(t), "migrate-ledger", "--data-dir", t.TempDir()).CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("--redis-url")) {
		t.Errorf("migrate-ledger without Redis: %v\n%s", err, out)
	}
}
