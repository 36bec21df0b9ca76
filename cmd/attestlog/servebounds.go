package main

import (
	"flag"
	"os"
	"time"

	"github.com/attestlog/attestlog/log"
)

// serveBounds are serve's bounds on memory and temporary space.
type serveBounds struct {
	claimBytes  int64         // bytes of claims in flight
	uploadIdle  time.Duration // longest silence of an upload stream
	uploadBytes int64         // declared bytes of the uploads in progress together
}

func (b *serveBounds) register(flags *flag.FlagSet) {
	flags.Int64Var(&b.claimBytes, "max-claim-bytes", int64(envFloat("ATTESTLOG_MAX_CLAIM_BYTES", log.DefaultMaxClaimBytes)),
		"most `bytes` of claims being checked and sequenced at once; past it AddClaim asks clients to retry (env ATTESTLOG_MAX_CLAIM_BYTES)")
	flags.DurationVar(&b.uploadIdle, "upload-idle-timeout", envDuration("ATTESTLOG_UPLOAD_IDLE_TIMEOUT", log.DefaultUploadIdleTimeout),
		"abort an artifact upload that sends nothing for this `duration` and delete its temporary file (env ATTESTLOG_UPLOAD_IDLE_TIMEOUT)")
	flags.Int64Var(&b.uploadBytes, "max-upload-bytes", int64(envFloat("ATTESTLOG_MAX_UPLOAD_BYTES", log.DefaultMaxUploadBytes)),
		"most temporary `bytes` all uploads in progress may hold together; past it uploads are asked to retry (env ATTESTLOG_MAX_UPLOAD_BYTES)")
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}
