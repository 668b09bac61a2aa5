// Package lifecycle is the state of a background service with one Run at a
// time and a Close that stops the Run under way and waits for it (the
// outbox and the Meta forwarder).
package lifecycle

import "sync"

// State is safe for concurrent use. Make it with New.
type State struct {
	mu      sync.Mutex
	closed  bool
	running bool
	closing chan struct{} // closed by Close: stops Run
	runs    sync.WaitGroup
}

// New returns the state of an open service.
func New() *State { return &State{closing: make(chan struct{})} }

// Start marks a Run under way: errClosed after Close, errRunning while
// another Run is. Call done when the Run returns.
func (s *State) Start(errClosed, errRunning error) (done func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, errClosed
	case s.running:
		return nil, errRunning
	}
	s.running = true
	s.runs.Add(1)
	return func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
		s.runs.Done()
	}, nil
}

// Close marks the service closed, stops the Run under way and waits for
// it. It reports false if the service was closed already.
func (s *State) Close() bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()
	s.runs.Wait()
	return true
}

// Closing is closed by Close: a Run returns when it is.
func (s *State) Closing() <-chan struct{} { return s.closing }

// Closed reports whether Close was called.
func (s *State) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
