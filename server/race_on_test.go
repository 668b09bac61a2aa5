//go:build race

package server

// raceEnabled: the race detector instruments (and allocates) on its own.
const raceEnabled = true
