// Package objstore keeps a log's public resources and its archive of build
// artifacts in an S3-compatible object store (AWS S3, Ceph RADOS Gateway,
// ...), so that the read path is the bucket itself, behind any CDN.
//
// It implements the storage layout of c2sp.org/tlog-tiles
// (https://c2sp.org/tlog-tiles): the bucket holds "checkpoint",
// "tile/<L>/<N>[.p/<W>]" and "tile/entries/<N>[.p/<W>]" at the root, readable
// by anonymous GET once the operator grants s3:GetObject. It talks the S3
// REST API through aws-sdk-go-v2, with path-style addressing when an
// endpoint is given, and takes its credentials from the SDK's usual sources
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE,
// ...), never from the command line.
//
// # Create-only writes
//
// Every object but the checkpoint is written once: [Bucket.Create] sends
// If-None-Match: *, and on 412 Precondition Failed reads the stored object
// back. Identical bytes are success (a retry, or a second writer of the same
// tree); different bytes are an [*AlarmError], on which the [Publisher]
// stops: two different trees, or a damaged bucket, must be looked at by a
// person, never overwritten. [OpenBucket] refuses a store that does not
// honour If-None-Match (a probe object created twice must give 412 the
// second time). No compare-and-swap is asked of the store (Ceph RGW 16, for
// one, rejects the quoted ETags that S3 returns in If-Match): the
// checkpoint's compare-and-swap stays in the log's own [log.Store].
//
// # Cache lifetimes
//
// Full tiles and entry bundles never change: public, max-age=31536000,
// immutable. A partial tile has a key of its own per width, but is dropped
// from the tree's view once the full tile exists, so it gets a short
// max-age, and the checkpoint, the one object that is overwritten, a
// shorter one.
//
// # Publishing and repair
//
// A [Publisher] runs beside [log.Log.Run]: the log tells it about each
// commit ([log.Config.Publisher]) and it uploads, from the log's committed
// store, the tiles and bundles of the new tree, then the partial tiles of
// the published checkpoint, and only then the checkpoint. So the bucket's
// checkpoint is always backed by every resource its tree needs, and its
// tree size is the publisher's mark: after a crash between a database
// commit and the uploads, the next start re-uploads from that size, and
// create-only writes make the repetition harmless. A bucket checkpoint
// whose root the log does not hold at that size (another log's bucket, or a
// store restored from an older copy) is an [*AlarmError] at start.
//
// # Archive
//
// An [Archive] keeps artifacts in a bucket of its own, named by their
// SHA-256 ("sha256/<64 hex digits>"), create-only, and where the bucket has
// S3 Object Lock (which implies versioning) in COMPLIANCE mode with a
// retention date, so that not even the operator's credentials can delete
// an artifact before it. Uploads stream through multipart uploads that are
// completed only once the bytes hash to their name; reads are verified as
// they stream out, as with the local [archive.Archive]. A plain DELETE,
// which a versioned bucket accepts by adding a delete marker, hides an
// artifact without removing it; the Archive still finds and serves its
// locked version.
//
// # Several frontends
//
// Every frontend of a log on one PostgreSQL database (log/pgstore) may
// run a Publisher to one bucket. Tiles and bundles need nothing more: they
// are a function of the tree, so two frontends create identical bytes,
// and a create that finds them is success. The checkpoint is the one
// object overwritten, and S3 offers no compare-and-swap that every store
// honours, so its writes are serialised in the database, by a
// [PublishLock] ([PublisherConfig.Lock]): a row per bucket holding the
// checkpoint last written there. Under that row's lock a Publisher writes
// its checkpoint only if its tree is larger than the recorded one's, and
// records it in the same transaction, whose commit lets go of the lock; a
// Publisher that finds a larger one recorded takes it as its mark and
// writes nothing. Between two passes it reads the record, without the
// lock, so that it does not upload again the tiles of a tree another
// frontend published; and the commits its log adopts from other frontends
// ([log.FollowingPublisher]) do not wake it, since the frontend that made
// them publishes them: its periodic pass only catches up with what that
// one left undone.
//
// One case is left: a frontend whose process stalls after taking the lock,
// for longer than the database keeps an idle transaction (two minutes),
// loses the lock, and its write can land after a newer checkpoint. Its
// record then fails, and the next pass of that Publisher, or the start of
// any Publisher, writes the recorded checkpoint again: the bucket's
// checkpoint can move back for that long, never for good. A client that
// remembers checkpoints sees an older one, which it treats as stale, not
// as a fork. The write is bounded to 30 s, well inside the two minutes.
//
// At its start, under the lock, a Publisher also records a checkpoint that
// is in the bucket but not in the database (published by a sole Publisher,
// or attestlog migrate), and clears the record of a bucket found without
// a checkpoint (emptied or replaced), which then gets the whole tree. A
// bucket checkpoint beyond the log's tree is an [*AlarmError], unless the
// record covers it: then another frontend published it, and the Publisher
// waits until its log has followed the database that far.
//
// With bbolt, one process holds the log, and its Publisher has no Lock.
//
// # What it leaves out
//
// Deleting partial tiles once the full one exists, a lifecycle policy, and
// the bucket policy for anonymous reads are the operator's (see the
// README).
//
// # Concurrency
//
// [Bucket], [Publisher] and [Archive] are safe for concurrent use.
package objstore
