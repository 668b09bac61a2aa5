package wal

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

const (
	helperDirEnv   = "PIXELPOST_WAL_HELPER_DIR"
	helperRoundEnv = "PIXELPOST_WAL_HELPER_ROUND"
	// helperWrittenEnv: the odd goroutines use AppendWritten.
	helperWrittenEnv = "PIXELPOST_WAL_HELPER_WRITTEN"
	helperSegBytes   = 16 << 10
)

func crashRecord(round, g, seq int) []byte {
	return record(fmt.Sprintf("round%d-g%d-%d.", round, g, seq), 300)
}

// TestHelperProcess is the child of TestCrashKill9: it appends from several
// goroutines until killed, printing "ack <round> <goroutine> <seq> <pos>"
// for each acknowledged record (by AppendWritten in the odd goroutines
// when helperWrittenEnv is set).
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashKill9")
	}
	round, _ := strconv.Atoi(os.Getenv(helperRoundEnv))
	written := os.Getenv(helperWrittenEnv) != ""
	l, err := Open(Options{Dir: dir, SegmentBytes: helperSegBytes})
	if err != nil {
		fmt.Println("open failed:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for seq := 0; ; seq++ {
				appendRec := l.Append
				if written && g%2 == 1 {
					appendRec = l.AppendWritten
				}
				pos, err := appendRec(crashRecord(round, g, seq))
				if err != nil {
					fmt.Println("append failed:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %d %d %d %d\n", round, g, seq, pos)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrashKill9 is the core guarantee: a record whose Append returned is
// never lost, even when the process is killed (SIGKILL) mid-stream, with
// writes, fsyncs and segment rollovers in flight. Several rounds crash on
// top of the previous crash's recovery.
func TestCrashKill9(t *testing.T) { crashKill9(t, false) }

// TestCrashKill9AppendWritten: a record acknowledged once written, before
// its fsync, survives a kill -9 of the process just as well (the kernel
// has it), mixed with durable appends.
func TestCrashKill9AppendWritten(t *testing.T) { crashKill9(t, true) }

func crashKill9(t *testing.T, written bool) {
	dir := t.TempDir()
	type ack struct {
		round, g, seq int
		pos           Pos
	}
	var acked []ack
	rounds := 4
	if testing.Short() {
		rounds = 2
	}
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), helperDirEnv+"="+dir, helperRoundEnv+"="+strconv.Itoa(round))
		if written {
			cmd.Env = append(cmd.Env, helperWrittenEnv+"=1")
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAt := 500 + 700*round // acknowledgements seen before the kill
		seen := 0
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "ack ") {
				if strings.Contains(line, "failed") {
					t.Errorf("child: %s", line)
				}
				continue
			}
			var a ack
			if _, err := fmt.Sscanf(line, "ack %d %d %d %d", &a.round, &a.g, &a.seq, &a.pos); err != nil {
				continue // a line cut by the kill
			}
			acked = append(acked, a)
			if seen++; seen == killAt {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("child did not die by SIGKILL: %v\n%s", err, stderr.String())
		}

		l, err := Open(Options{Dir: dir, SegmentBytes: helperSegBytes})
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		recs := mustReadAll(t, l, 0)
		byEnd := make(map[Pos][]byte, len(recs))
		seenRec := make(map[string]bool, len(recs))
		for _, r := range recs {
			byEnd[r.next] = r.rec
			if seenRec[string(r.rec)] {
				t.Fatalf("round %d: record %.30s stored twice", round, r.rec)
			}
			seenRec[string(r.rec)] = true
		}
		for _, a := range acked {
			rec, ok := byEnd[a.pos]
			if !ok {
				t.Fatalf("round %d: acknowledged record round%d-g%d-%d (end %d) lost; %d records stored, recovery %+v",
					round, a.round, a.g, a.seq, a.pos, len(recs), l.Recovery())
			}
			if !bytes.Equal(rec, crashRecord(a.round, a.g, a.seq)) {
				t.Fatalf("round %d: record ending at %d is %.30q, want round%d-g%d-%d", round, a.pos, rec, a.round, a.g, a.seq)
			}
		}
		t.Logf("round %d: %d acknowledged so far, %d stored, recovery %+v", round, len(acked), len(recs), l.Recovery())
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
