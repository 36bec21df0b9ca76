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
// platform, which builds are mismatched), and compares it with what the log
// answers through an [IndexSource]: a claim that a lookup by digest or by
// source hides or invents, or a mismatch the log's list leaves out or
// invents, is a [Finding]. Which lookups must return an entry is
// claim.Keys, the same definition the log's index uses. It also
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
// only Ed25519 keys are supported; witness cosignatures are checked but
// their timestamps bound freshness only when asked ([VerifyOptions.MaxAge],
// [MonitorConfig.MaxAge]).
//
// It imports no storage, gRPC or metrics code: a verifier that links it
// stays small. Everything here is safe for concurrent use.
package client
