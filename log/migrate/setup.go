package migrate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/attestlog/attestlog/log/objstore"
)

// bucketCheckTimeout bounds the checks of the buckets before the copy.
const bucketCheckTimeout = 2 * time.Minute

// OpenBuckets opens and checks the buckets at loc as serve does, for
// [Config.Bucket] and [Config.Archive] (nil if loc names no archive
// bucket); the archive takes any size, since the local archive holds them.
func OpenBuckets(ctx context.Context, loc objstore.Location, noLock bool, logger *slog.Logger) (*objstore.Bucket, *objstore.Archive, error) {
	// A store that accepts the connection but never answers (seen with a
	// Ceph RGW under load) must not hang the migration before it starts.
	ctx, cancel := context.WithTimeout(ctx, bucketCheckTimeout)
	defer cancel()
	return objstore.OpenLocation(ctx, loc, math.MaxInt64, noLock, logger)
}

// PublicURL returns the base URL for the anonymous check of the bucket at
// loc ([Config.PublicURL]): url if set, with "none" for no check, else
// ENDPOINT/BUCKET if loc has an endpoint, else none.
func PublicURL(loc objstore.Location, url string) string {
	switch {
	case url == "none":
		return ""
	case url != "":
		return strings.TrimSuffix(url, "/")
	case loc.Endpoint != "":
		return strings.TrimSuffix(loc.Endpoint, "/") + "/" + loc.Bucket
	}
	return ""
}

// Print prints what the run of cfg did, in a few lines for its operator;
// dbFile in the directory dir is the bbolt file copied, which it advises
// to keep.
func (r Report) Print(w io.Writer, cfg Config, dir, dbFile string) {
	what := "copied"
	switch {
	case r.Finished:
		what = "already copied"
	case r.Resumed:
		what = "finished an interrupted copy of"
	}
	fmt.Fprintf(w, "migrated: %s the log %s at tree size %d\n", what, r.Checkpoint.Origin, r.Checkpoint.Size)
	fmt.Fprintf(w, "this run: %d entries (%.1f MiB), %d index records in %d spaces, %d of %d binaries (%.1f MiB) uploaded, in %v\n",
		r.Entries, float64(r.EntryBytes)/(1<<20), r.IndexRecords, r.Spaces, r.Uploaded, r.Binaries, float64(r.BinaryBytes)/(1<<20), r.Copy.Round(1e6))
	fmt.Fprintf(w, "checked: %d tiles and %d entry bundles of the copy, every index space and the dedup index, in %v\n", r.Tiles, r.Bundles, r.Check.Round(1e6))
	if r.BucketCheck {
		fmt.Fprintf(w, "checked: the tiles bucket over anonymous HTTP at %s\n", cfg.PublicURL)
	}
	fmt.Fprintf(w, "next: keep %s as a backup, moved out of %s (serve --store refuses a data directory holding a bbolt log), and start serve --store with the same key\n",
		filepath.Join(dir, dbFile), dir)
}
