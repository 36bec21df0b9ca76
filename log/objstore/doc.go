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
// # What it leaves out
//
// Deleting partial tiles once the full one exists, a lifecycle policy, and
// the bucket policy for anonymous reads are the operator's (see the
// README). One Publisher per log: two publishers of one log could move the
// bucket's checkpoint back and forth, since S3 offers no safe
// compare-and-swap here.
//
// # Concurrency
//
// [Bucket], [Publisher] and [Archive] are safe for concurrent use.
package objstore
