package lifecycle

import (
	"errors"
	"testing"
	"time"
)

var errClosed, errRunning = errors.New("closed"), errors.New("running")

func TestOneRunAndCloseWaits(t *testing.T) {
	s := New()
	done, err := s.Start(errClosed, errRunning)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(errClosed, errRunning); err != errRunning {
		t.Errorf("second Start = %v, want errRunning", err)
	}
	returned := make(chan struct{})
	go func() {
		<-s.Closing() // the Run sees Close, then returns
		time.Sleep(20 * time.Millisecond)
		close(returned)
		done()
	}()
	if !s.Close() {
		t.Fatal("first Close reported closed already")
	}
	select {
	case <-returned:
	default:
		t.Error("Close returned before the Run did")
	}
	if !s.Closed() || s.Close() {
		t.Error("want Closed, and a second Close to report false")
	}
	if _, err := s.Start(errClosed, errRunning); err != errClosed {
		t.Errorf("Start after Close = %v, want errClosed", err)
	}
}
