package main

import (
	"flag"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log/objstore"
)

// objectsConfig is the part of serve's command line about the object store.
type objectsConfig struct {
	url    string // s3://bucket?endpoint=...&archive=...; empty: no object store
	noLock bool   // accept an archive bucket without Object Lock
	loc    objstore.Location
}

func (o *objectsConfig) register(flags *flag.FlagSet) {
	flags.StringVar(&o.url, "objects", usage.Env("ATTESTLOG_OBJECTS", ""), "s3://`bucket`?endpoint=URL&region=R&archive=BUCKET&retention_days=N: publish tiles, bundles and the checkpoint to the bucket, and keep archived binaries in the archive bucket (Object Lock); credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (env ATTESTLOG_OBJECTS)")
	flags.BoolVar(&o.noLock, "archive-no-lock", usage.Env("ATTESTLOG_ARCHIVE_NO_LOCK", "") == "1", "accept an archive bucket without S3 Object Lock, whose binaries its credentials can delete (env ATTESTLOG_ARCHIVE_NO_LOCK=1)")
}

// parse checks the flags' syntax.
func (o *objectsConfig) parse() error {
	if o.url == "" {
		if o.noLock {
			return usage.Errorf("serve: --archive-no-lock without --objects")
		}
		return nil
	}
	loc, err := objstore.ParseURL(o.url)
	if err != nil {
		return usage.Errorf("serve: --objects: %v", err)
	}
	if o.noLock && loc.Archive == "" {
		return usage.Errorf("serve: --archive-no-lock, but --objects names no archive bucket")
	}
	o.loc = loc
	return nil
}
