package log

// The bbolt file of a log holds these buckets:
//
//	meta     "checkpoint" -> latest signed checkpoint note
//	         "size"       -> tree size of that checkpoint, uint64 big-endian
//	         "witnessed"  -> latest checkpoint note with a witness quorum
//	entries  uint64 big-endian index -> entry bytes
//	tiles    level (1 byte) || uint64 big-endian N -> hash tile data (full or partial)
//	dedup    leaf hash (32 bytes) -> uint64 big-endian index
//	idx:<space>  index records of an Indexer (for claims, see claimindex.go)
//
// Entries and tiles have monotonically increasing keys, so their buckets are
// filled completely on split; the deduplication index has random keys.
// Every Commit writes all of them in one transaction.
var (
	bucketMeta    = []byte("meta")
	bucketEntries = []byte("entries")
	bucketTiles   = []byte("tiles")
	bucketDedup   = []byte("dedup")

	indexBucketPrefix = "idx:"

	keyCheckpoint = []byte("checkpoint")
	keySize       = []byte("size")
	keyWitnessed  = []byte("witnessed")
)
