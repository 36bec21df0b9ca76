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
	publisher *objstore.Publisher
	archive   *objstore.Archive // nil: the archive stays in the data directory
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
	cfg := objstore.Config{Endpoint: c.Objects.Endpoint, Region: c.Objects.Region, Logger: logger}
	b, err := objstore.OpenBucket(ctx, cfg, c.Objects.Bucket)
	if err != nil {
		return objs, fmt.Errorf("--objects: %w", err)
	}
	if objs.publisher, err = objstore.NewPublisher(objstore.PublisherConfig{Bucket: b, Logger: logger}); err != nil {
		return objs, err
	}
	if c.Objects.Archive == "" {
		return objs, nil
	}
	ab, err := objstore.ConnectBucket(ctx, cfg, c.Objects.Archive)
	if err != nil {
		return objs, fmt.Errorf("--objects: archive: %w", err)
	}
	objs.archive, err = objstore.OpenArchive(ctx, objstore.ArchiveConfig{Bucket: ab, MaxSize: c.MaxArtifactSize,
		RetentionDays: c.Objects.RetentionDays, NoLock: c.ArchiveNoLock, Logger: logger})
	if err != nil {
		return objs, fmt.Errorf("--objects: archive: %w", err)
	}
	return objs, nil
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
