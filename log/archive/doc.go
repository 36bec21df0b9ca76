// Package archive is the log's content-addressed store of uploaded build
// artifacts (binaries), kept on the local file system inside the log's data
// directory.
//
// An artifact is named by the SHA-256 (FIPS 180-4) of its bytes, written as
// 64 lowercase hex digits, the spelling of an in-toto digest set
// (https://github.com/in-toto/attestation/blob/main/spec/v1/digest_set.md)
// and of the log's claims. It implements no external storage spec.
//
// # Guarantees
//
//   - An upload is verified while it streams: [Archive.Put] stores it only if
//     its length matches the declared size and its bytes hash to the claimed
//     digest. A refused upload leaves nothing behind.
//   - Identical bytes are stored once, however many builders upload them,
//     concurrently or not. A stored copy that still hashes to its name is
//     never rewritten.
//   - A stored copy that no longer does (bit rot, tampering) is repaired by
//     uploading the right bytes again: [Archive.Put] verifies the stored
//     object when its digest is uploaded again, and if it is corrupt
//     replaces it with the verified upload in one rename, logging a warning.
//   - A stored object is durable when Put returns: the file and the directory
//     entries leading to it are fsynced.
//   - A read is verified too: [Object.Read] hashes what it serves and, at the
//     end, reports [ErrCorrupt] instead of [io.EOF] if the bytes on disk no
//     longer hash to their name, so a tampered or bit-rotted file is never
//     served as valid.
//
// # No deletion
//
// There is deliberately no delete or overwrite API (a repair replaces only
// bytes that no longer match their name, with bytes that do): archived binaries are
// evidence, and an investigator must be able to fetch both sides of a
// mismatch years later. An operator-side legal takedown, if ever needed, is a
// separate procedure that is itself logged and visible; it is not part of
// this package.
//
// # On-disk layout
//
//	<dir>/                          0700
//	├── objects/                    0700
//	│   └── 3f/                     0700  first 2 hex digits of the digest
//	│       └── a2/                 0700  next 2 hex digits
//	│           └── 3fa2…c9         0444  all 64 hex digits; the artifact's bytes
//	└── tmp/                        0700
//	    └── 3fa2…c9.123456          0600  an upload in progress
//
// An upload is written to tmp/, hashed as it arrives, fsynced, made read-only
// and then linked into objects/. A crash can leave a file in tmp/, never a
// partial file in objects/; [Open] empties tmp/.
//
// # What it leaves out
//
// The rule that a binary is accepted only if a logged claim names its digest
// is the log's, checked before it calls Put. Listing, garbage collection and
// metrics are not provided.
//
// # Concurrency
//
// An [Archive] is safe for concurrent use by multiple goroutines. At most one
// process may have a directory open at a time, since Open removes whatever is
// in tmp/; the log's bbolt lock on the same data directory ensures this. The
// file system must support hard links, as all usual Unix file systems do.
package archive
