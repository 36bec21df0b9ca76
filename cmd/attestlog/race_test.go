//go:build race

package main

// raceEnabled reports that the race detector is on: it multiplies memory
// use, so memory bounds cannot be measured under it.
const raceEnabled = true
