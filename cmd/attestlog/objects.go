package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/attestlog/attestlog/log"
	"github.com/attestlog/attestlog/log/objstore"
	"github.com/prometheus/client_golang/prometheus"
)

// objectsConfig is the part of serve's command line about the object store.
type objectsConfig struct {
	url    string // s3://bucket?endpoint=...&archive=...; empty: no object store
	noLock bool   // accept an archive bucket without Object Lock
	loc    objstore.Location
}

func (o *objectsConfig) register(flags *flag.FlagSet) {
	flags.StringVar(&o.url, "objects", envOr("ATTESTLOG_OBJECTS", ""), "s3://`bucket`?endpoint=URL&region=R&archive=BUCKET&retention_days=N: publish tiles, bundles and the checkpoint to the bucket, and keep archived binaries in the archive bucket (Object Lock); credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (env ATTESTLOG_OBJECTS)")
	flags.BoolVar(&o.noLock, "archive-no-lock", envOr("ATTESTLOG_ARCHIVE_NO_LOCK", "") == "1", "accept an archive bucket without S3 Object Lock, whose binaries its credentials can delete (env ATTESTLOG_ARCHIVE_NO_LOCK=1)")
}

// parse checks the flags' syntax.
func (o *objectsConfig) parse() error {
	if o.url == "" {
		if o.noLock {
			return usageErrorf("serve: --archive-no-lock without --objects")
		}
		return nil
	}
	loc, err := objstore.ParseURL(o.url)
	if err != nil {
		return usageErrorf("serve: --objects: %v", err)
	}
	if o.noLock && loc.Archive == "" {
		return usageErrorf("serve: --archive-no-lock, but --objects names no archive bucket")
	}
	o.loc = loc
	return nil
}

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
func openObjects(ctx context.Context, o objectsConfig, maxSize int64, logger *slog.Logger) (objects, error) {
	var objs objects
	if o.url == "" {
		return objs, nil
	}
	cfg := objstore.Config{Endpoint: o.loc.Endpoint, Region: o.loc.Region, Logger: logger}
	b, err := objstore.OpenBucket(ctx, cfg, o.loc.Bucket)
	if err != nil {
		return objs, fmt.Errorf("--objects: %w", err)
	}
	objs.bucket, objs.logger = b, logger
	if o.loc.Archive == "" {
		return objs, nil
	}
	ab, err := objstore.ConnectBucket(ctx, cfg, o.loc.Archive)
	if err != nil {
		return objs, fmt.Errorf("--objects: archive: %w", err)
	}
	objs.archive, err = objstore.OpenArchive(ctx, objstore.ArchiveConfig{Bucket: ab, MaxSize: maxSize,
		RetentionDays: o.loc.RetentionDays, NoLock: o.noLock, Logger: logger})
	if err != nil {
		return objs, fmt.Errorf("--objects: archive: %w", err)
	}
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
