// Package client verifies what a tiled transparency log serves, from its
// public resources alone: checkpoints, hash tiles and entry bundles
// (c2sp.org/tlog-tiles, c2sp.org/tlog-checkpoint, c2sp.org/signed-note).
//
// It reads a log through the small [Fetcher] interface, so the same checks
// run against a log over HTTP ([HTTPFetcher]), an in-process log or a mirror.
// It imports no storage, gRPC or metrics code: a verifier that links it stays small.
//
// Everything here is safe for concurrent use.
package client
