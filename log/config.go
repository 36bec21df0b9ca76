package log

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/attestlog/attestlog/tiles"

	"golang.org/x/mod/sumdb/note"
)

const (
	// DefaultQueueSize is the default bound on entries waiting to be sequenced.
	DefaultQueueSize = 1 << 16
	// DefaultMaxBatchSize is the default largest number of entries sequenced in one transaction.
	DefaultMaxBatchSize = 1 << 14
	// DefaultBatchLinger is how long a busy log's sequencer waits for more
	// entries after the first of a batch (see Config.BatchLinger). Under
	// 256 concurrent builders (`attestlog bench --mode add`), batches of 27
	// entries on average (1,834 commits for 50,000 claims) became batches
	// of 92 (542 commits), the store's commits took 2.1 s instead of 4.5,
	// and serve appended about a tenth more claims a second: the page
	// writes, the fsync and the checkpoint signature of a commit are paid
	// per batch (BENCHMARKS.md, "Eleventh pass").
	DefaultBatchLinger = 3 * time.Millisecond
	// lingerBatch is the fewest entries a batch must have held for the
	// sequencer to linger before the next: a log that sequences one entry
	// at a time (a light load) commits each at once.
	lingerBatch = 8
)

// Config configures a [Log]. Origin, Signer and Store are required; every
// other zero value means the documented default.
type Config struct {
	// Origin is the checkpoint origin line, by convention the scheme-less URL
	// prefix of the log, e.g. "log.example.org/attestlog". The Signer's key
	// name must equal it.
	Origin string
	// Signer signs checkpoints; an Ed25519 signed-note key named Origin.
	Signer note.Signer
	// Store holds the log's state; see [OpenBolt] for the embedded default.
	// The Log does not close it.
	Store Store
	// Indexer, if set, derives index records from each batch of new
	// entries, stored in the same transaction; see [ClaimIndex].
	Indexer Indexer
	// Witnesses, if set, is the witness policy (c2sp.org/tlog-policy): the
	// log asks every witness in it, which must have URLs, to cosign each new
	// checkpoint, and publishes at /checkpoint only checkpoints whose
	// cosignatures meet the quorum. nil publishes every signed checkpoint.
	Witnesses *tiles.Policy
	// WitnessInterval is the shortest time between two rounds of cosignature
	// requests. Default DefaultWitnessInterval.
	WitnessInterval time.Duration
	// HTTPClient talks to witnesses; nil means http.DefaultClient.
	HTTPClient *http.Client
	// QueueSize bounds the entries waiting to be sequenced; when the queue is
	// full, [Log.Add] fails at once with [ErrPushback]. Default DefaultQueueSize.
	QueueSize int
	// MaxBatchSize bounds the entries sequenced in one transaction. Default DefaultMaxBatchSize.
	MaxBatchSize int
	// BatchLinger is how long the sequencer of a log that a [Service]
	// feeds waits for the claims being checked to join a batch, once the
	// batch before held at least 8 entries (the log is busy): fewer,
	// larger commits cost less per entry, for at most this much more
	// latency under load. It waits only while claims are being checked or
	// the process is CPU-bound, so that a few builders that all wait for
	// their claims in the batch are not held back, and a log appended to
	// one entry at a time commits each at once. A log that no Service
	// feeds never waits. Default DefaultBatchLinger; negative never waits.
	BatchLinger time.Duration
	// TileCacheSize is how many expanded hash tiles (about 16 KiB each) the
	// proof path caches. Default DefaultTileCacheSize; negative disables the cache.
	TileCacheSize int
	// FollowInterval is how often a Log on a [SharedStore] reads the
	// store's checkpoint while idle, to publish what other writers
	// committed. Default DefaultFollowInterval.
	FollowInterval time.Duration
	// Logger receives the log's structured logs; nil discards them.
	Logger *slog.Logger
	// Publisher, if set, is told of each commit once it is durable; see
	// [Publisher]. nil publishes nothing but through the Log's own API.
	Publisher Publisher
}

func (c Config) withDefaults() (Config, error) {
	if ci, ok := c.Indexer.(ClaimIndex); ok && ci.keys == nil {
		// The committer's (commitindex.go), inactive until there is one.
		ci.keys = &keyCache{}
		c.Indexer = ci
	}
	switch {
	case c.Origin == "":
		return c, errors.New("log: config: empty origin")
	case c.Signer == nil:
		return c, errors.New("log: config: no signer")
	case c.Signer.Name() != c.Origin:
		return c, errors.New("log: config: signer key name " + c.Signer.Name() + " differs from origin " + c.Origin)
	case c.Store == nil:
		return c, errors.New("log: config: no store")
	case c.QueueSize < 0 || c.MaxBatchSize < 0 || c.FollowInterval < 0:
		return c, errors.New("log: config: negative queue size, batch size or follow interval")
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.TileCacheSize == 0 {
		c.TileCacheSize = DefaultTileCacheSize
	}
	if c.MaxBatchSize == 0 {
		c.MaxBatchSize = DefaultMaxBatchSize
	}
	if c.FollowInterval == 0 {
		c.FollowInterval = DefaultFollowInterval
	}
	if c.BatchLinger == 0 {
		c.BatchLinger = DefaultBatchLinger
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
