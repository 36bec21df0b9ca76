package log

// A Publisher copies the log's resources elsewhere after each commit: for
// example log/objstore uploads the new tiles, entry bundles and checkpoint
// to an S3 bucket that serves the read path. It reads what it publishes
// from the Log ([Log.Fetch], [Log.Published]), which by then holds the
// committed state.
type Publisher interface {
	// Committed is called by the one writer of the tree after each commit,
	// once it is durable, with the new tree size; on a [SharedStore], also
	// each time the Log adopts what other writers committed (a
	// [FollowingPublisher] gets Followed instead). It MUST NOT
	// block: a
	// Publisher notes the size and does its work on its own goroutine.
	Committed(size int64)
}
