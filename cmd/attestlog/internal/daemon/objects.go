package daemon

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/objstore"
	"github.com/prometheus/client_golang/prometheus"
)

// objects are serve's object store: nil fields when not configured.
type objects struct {
	bucket    *objstore.Bucket    // the tiles bucket
	publisher *objstore.Publisher // made by attach, once the log's store is open
	archive   *objstore.Archive   // nil: the archive stays in the data directory
	logger    *slog.Logger
}

// openObjects connects to the buckets of --objects and checks them before
// serve writes anything: that they exist, that the tiles bucket honours
// create-only writes, and that the archive bucket has Object Lock (or
// --archive-no-lock).
func openObjects(ctx context.Context, c Config, logger *slog.Logger) (objects, error) {
	var objs objects
	if c.ObjectsURL == "" {
		return objs, nil
	}
	b, a, err := objstore.OpenLocation(ctx, c.Objects, c.MaxArtifactSize, c.ArchiveNoLock, logger)
	if err != nil {
		return objs, fmt.Errorf("--objects: %w", err)
	}
	objs.bucket, objs.archive, objs.logger = b, a, logger
	return objs, nil
}

// attach makes the publisher to the tiles bucket for the log's store. A
// store that several frontends share (PostgreSQL) serialises and records
// their checkpoint writes, so that every frontend can publish to one
// bucket; on bbolt the one serve is the bucket's only publisher.
func (o *objects) attach(store log.Store) error {
	if o.bucket == nil {
		return nil
	}
	cfg := objstore.PublisherConfig{Bucket: o.bucket, Logger: o.logger}
	if lock, ok := store.(objstore.PublishLock); ok {
		cfg.Lock = lock
	}
	p, err := objstore.NewPublisher(cfg)
	if err != nil {
		return err
	}
	o.publisher = p
	return nil
}

// logPublisher returns the publisher as the log takes it: nil without one.
func (o objects) logPublisher() log.Publisher {
	if o.publisher == nil {
		return nil
	}
	return o.publisher
}

// metrics returns the publisher's collectors, if there is one.
func (o objects) metrics() []prometheus.Collector {
	if o.publisher == nil {
		return nil
	}
	return o.publisher.Metrics()
}
