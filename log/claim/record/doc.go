// Package record is the one decoder of attestlog's claim entries: every
// consumer (the log's AddClaim validation, its index and mismatch records,
// the verifiable index, client verify, monitor, bundle and receipt code,
// the web page, the CLI) reads an entry with [Decode] and indexes it with
// [Record.Keys], so that no two of them can read one entry differently.
//
// Two entry versions exist. A v1 entry (attestlog.dev/claim/v1, package
// log/claim) is a DSSE envelope holding attestlog's SLSA statement profile,
// signed by signed-note Ed25519 keys. A v2 entry holds a document as a
// builder's own tools signed it (log/claim/format reads and maps it;
// log/claim/scheme verifies its signature): a guix.sigs SHA256SUMS with
// its OpenPGP (or SSH, minisign, ...) detached signature, a Debian
// .buildinfo, a minisign signature file, an in-toto link v0.9, an OSS
// Rebuild DSSE envelope. [Encode] makes a v2 entry.
//
// # The v2 entry
//
// A v2 entry is text, canonical (one spelling per claim: [Decode] re-encodes
// what it parsed and compares), at most 65,535 bytes:
//
//	attestlog.dev/claim/v2
//	format <kind>                           sha256sums, buildinfo, minisign, link or dsse
//	key <scheme> <key text>                 scheme.Format of the signer's key
//	sig <standard base64>                   only for a detached signature
//	file-sha256 <64 lowercase hex>          only minisign without sha256: in its trusted comment
//	annotation <commit|recipe|source> <v>   supplied, unsigned; sorted by name; each at most once
//	<empty line>
//	<the signed document, verbatim, to the end of the entry>
//
// for example (key and signature shortened):
//
//	attestlog.dev/claim/v2
//	format sha256sums
//	key openpgp E86AE73439625BBEE306AAE6B66D427F873CB1A3 xjMEZ...
//	sig wnUEABYKAB0WIQ...
//	annotation commit 2f4e75e2fc8e1e6c11ea6bd6b4f4caa3bd3be2d8
//	annotation source git+https://github.com/bitcoin/bitcoin
//
//	7fe294b02b25b51acb8e8e0a0eb5af6bbafa7cd0c5b0e5fcbb61263104a82fbc  bitcoin-28.0-x86_64-linux-gnu.tar.gz
//	...
//
// What the document is, per kind: the SHA256SUMS file (with a sig line);
// the .buildinfo, clearsigned as made (no sig line) or plain (with one);
// the .minisig file (no sig line: it is the signature); the link JSON; the
// DSSE envelope JSON. The sig line holds the detached signature in its one
// canonical encoding: an OpenPGP signature as one binary packet (Encode
// removes the armor), an SSH or minisign signature file as its tool wrote
// it. An OpenPGP key is its certificate minimised by scheme.Minimize, so
// that the entry carries what re-verifying needs and no more (third-party
// certifications dropped).
//
// One signer per entry: a link or envelope with several signatures is
// logged once per key a submitter names, each entry naming the key that
// verified. Resubmitting the same document with the same key gives the
// same bytes, so the log deduplicates.
//
// # minisign and the file's sha256
//
// minisign signs BLAKE2b-512 of a file, not its sha256. With sha256: in
// the trusted comment, the signer signed the sha256 itself (the global
// signature covers the comment), and the entry re-verifies alone. Without
// it, the entry carries a file-sha256 line that the submitter computed, and
// the log logs it only after checking minisign's file signature over the
// file in its archive; [Decode] of such an entry verifies the global
// signature and reports [Record.FileSignatureUnchecked], and a client
// holding the file checks it with [CheckFile].
//
// The file is uploaded first, by that digest. A log archives only files
// that a logged claim names, and this claim is not logged yet: the upload
// header therefore carries the entry (UploadHeader.entry in the gRPC API),
// and the log admits the upload when the entry decodes, passes its
// allowlist and names that digest in its file-sha256 line; then AddClaim
// of the entry checks the signature over the archived file and refuses,
// FailedPrecondition, while the archive lacks it. (The design said
// "upload first"; the upload rule needed this one addition to allow it.)
//
// # Signed and supplied fields
//
// A [Record] holds in Source, Commit, SourceDigest, Recipe and Subjects
// only what a signature covers; annotation lines go to Supplied, are shown
// marked "(supplied, unsigned)", and never enter [Record.Identities],
// [Record.Keys], votes or conflicts. An annotation the signature already
// covers is refused.
//
// # Index keys
//
// [Record.Keys] generalises log/claim's IndexKeys without changing the keys
// of any v1 entry (existing logs' indexes and index commitments stay
// valid): one Build per distinct platform among the subjects with an
// identity; builders named by vkey for signed-note keys and
// "<scheme>:<key ID>" for other schemes; and, for digest-only claims, the
// subject file names (Names), so that a client finds every claim about a
// release file by its name.
//
// The package is pure (no I/O) and safe for concurrent use; a Record is
// immutable once returned.
package record
