//go:build !race

package main

// raceEnabled reports that the race detector is on: it multiplies memory
// use, so memory bounds are measured on a server built without it.
const raceEnabled = false
