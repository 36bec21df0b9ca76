// Package client verifies what an attestlog log serves, from its public
// material alone.
//
// # Logs
//
// [CheckLog] checks a whole tiled log: checkpoints, hash tiles and entry
// bundles (c2sp.org/tlog-tiles, c2sp.org/tlog-checkpoint,
// c2sp.org/signed-note). It reads a log through the small [Fetcher]
// interface, so the same checks run against a log over HTTP
// ([HTTPFetcher]), an in-process log or a mirror.
//
// # Artifacts
//
// [Verify] decides whether the trusted builders of a [Policy] agree on an
// artifact digest: the checkpoint carries the log's signature and a quorum
// of witness cosignatures (c2sp.org/tlog-cosignature, c2sp.org/tlog-policy)
// and is consistent with the one the client remembers ([State]); every
// claim naming the digest is proven included and carries valid signatures;
// each trusted identity votes once; the policy's agree rule counts silent
// builders as no; a trusted builder who claimed another digest for the same
// build is a conflict, found through the lookup by source. The [Verdict]
// says who agreed, who was silent, who disagreed, what failed, and the exit
// code of attestlog verify.
//
// Verify also cross-checks the two lookups it makes: a claim the lookup by
// digest returned that the lookup by source for its build leaves out is a
// "hidden claim" problem (exit 8). That catches a log whose indexes
// disagree, for example one that drops a claim from the lookup by source
// only, which is how a dissenting claim would be hidden from the conflict
// check. It cannot catch a log that hides a dissenting claim from every
// lookup alike: a verifier sees only answers, and an answer that leaves a
// claim out everywhere is consistent. Only a monitor catches that, by
// reading every entry (and, later, a verifiable index that proves lookups
// complete).
//
// # Claims of every scheme (issue 11)
//
// Claims are read with log/claim/record, the one decoder of v1 entries
// (attestlog's own DSSE claims) and v2 entries (documents as builders' own
// tools signed them: guix.sigs SHA256SUMS with OpenPGP, Debian buildinfo,
// minisign, SSH, in-toto links, OSS Rebuild DSSE). A policy's builder
// lines name keys of any scheme ([ParsePolicy]); one identity may hold
// keys of several schemes and still votes once. Fields a submitter
// supplied beside a signed document are never counted. A Debian buildinfo
// has a build identity with source "deb:<source>@<version>" and no commit.
//
// Digest-only claims (a SHA256SUMS, an in-toto link, a minisign signature
// without source:) name no build, so no build identity can conflict. For
// them Verify applies a rule of its own, under the user's policy: two
// TRUSTED builders naming one file name with different sha256 are a
// conflict (exit 4), found through the lookup by file name and proven
// complete by its index proof like the other lookups. A release's file
// names carry its version (bitcoin-28.0-x86_64-linux-gnu.tar.gz), so a
// name is the release's identity for that file. Untrusted signers naming
// the file otherwise are not counted, and the log makes no mismatch of
// names: unrelated projects share names like install.sh. A minisign claim
// whose trusted comment does not name the sha256 is bound to the digest
// by minisign's signature over the file itself; with
// [VerifyOptions.File], Verify checks it over the file.
//
// Verify reads a log through the small [Source] interface. Its gRPC
// implementation is in the subpackage grpcsource, so that this package links
// no gRPC; [BundleSource] answers from an offline [Bundle], whose file
// embeds c2sp.org/tlog-proof proofs. When a checkpoint is not shown
// consistent with the remembered one, Verify fails; when the two signed
// notes and the proof prove a fork, [State] keeps them in an evidence file
// that [CheckEvidence] re-verifies anywhere. A proof that merely fails is
// no evidence: it blames whoever served it, not the log.
//
// # Monitors
//
// [MonitorLog] follows a log pass by pass from where it stopped: it checks
// each new witnessed checkpoint against the policy, for consistency and
// for staleness (smaller than remembered, or older than a maximum age),
// authenticates every new hash tile and entry bundle, re-verifies every new
// claim from its entry alone, derives its own index of builds (which
// claims name which digest, which claims are about which source commit and
// platform, which digest-only claims name which file, which builds are
// mismatched), and compares it with what the log answers through an
// [IndexSource]: a claim that a lookup by digest, by source or by file name
// hides or invents, or a mismatch the log's list leaves out or invents, is
// a [Finding]. Which lookups must return an entry is log/claim/record's
// Keys, the same definition the log's index uses. It also
// recomputes the log's verifiable index (package log/vindex) from the
// entries and checks every index commitment's root and every lookup's map
// proof against it: a map proof that contradicts an entry is written as
// [IndexEvidence], which [CheckEvidence] re-verifies anywhere. This is
// what keeps the committed index, and so [Source]'s proven completeness,
// honest. Its position and index live in the [State] directory; the
// recomputed map lives in memory, recomputed at a process's first pass.
//
// What the package leaves out: a Source's index commitments are trusted
// to be the map of the entries (a lookup is proven complete against the
// committed map; monitors that read every entry check the map);
// log and witness keys are Ed25519 only (builder keys may be of any
// scheme log/claim/scheme verifies); witness cosignatures are checked but
// their timestamps bound freshness only when asked ([VerifyOptions.MaxAge],
// [MonitorConfig.MaxAge]).
//
// It imports no storage, gRPC or metrics code: a verifier that links it
// stays small. Everything here is safe for concurrent use.
package client
