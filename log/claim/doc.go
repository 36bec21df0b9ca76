// Package claim implements attestlog's build claims: a DSSE envelope
// (https://github.com/secure-systems-lab/dsse) holding an in-toto Statement
// v1 whose predicate is SLSA Provenance v1, signed with Ed25519 by builder
// keys in signed-note form (https://c2sp.org/signed-note), and the log entry
// that records such a claim.
//
// # The claim profile
//
// A claim says: the builder whose key signed this built the source at a
// commit with a recipe for a platform, and got artifacts with these digests.
// [ParseStatement] accepts the Statement profile below and returns a
// normalised [Claim]; every error names the offending JSON field.
//
//	{
//	  "_type": "https://in-toto.io/Statement/v1",
//	  "subject": [{"name": "hello", "digest": {"sha256": "<64 hex>"}}],
//	  "predicateType": "https://slsa.dev/provenance/v1",
//	  "predicate": {
//	    "buildDefinition": {
//	      "buildType": "<URI>",
//	      "externalParameters": {
//	        "recipe": {"digest": {"sha256": "<64 hex>"}},
//	        "platform": "linux/amd64"
//	      },
//	      "resolvedDependencies": [{
//	        "uri": "git+https://example.org/hello.git@refs/tags/v1.0",
//	        "digest": {"gitCommit": "<40 or 64 hex>"}
//	      }]
//	    },
//	    "runDetails": {"builder": {"id": "https://ci.example.org"}}
//	  }
//	}
//
// Normalisation: hex digests are lowercased and lose a "sha256:" prefix; the
// source URI's scheme and host are lowercased and a trailing "/" or ".git"
// dropped; an "@ref" suffix is kept apart as an annotation, since a branch or
// tag name is never identity. Subjects with sha1 or md5 digests are refused.
// JSON objects with duplicate keys are refused, so that no two parsers can
// read one claim differently. Artifact names, the source URI (also as its
// percent-escapes decode) and the builder ID may hold no C0 or C1 control,
// DEL, line separator or bidi control, and signer key names must be valid
// signed-note names without these either ([CheckKeyName]): such characters
// could drive or mislead the terminal of whoever reads a claim.
//
// # The log entry
//
// An [Entry] is self-contained evidence: the DSSE payload verbatim and every
// signature with the verifier key (vkey) that checks it, so anyone holding
// only the log can re-verify every claim. Its encoding is canonical, so
// resubmitting a claim yields the same bytes and the log deduplicates it:
//
//	attestlog.dev/claim/v1
//	type application/vnd.in-toto+json
//	sig <vkey> <base64 Ed25519 signature over the DSSE PAE>
//	[more sig lines, sorted by vkey, each vkey once]
//	<empty line>
//	<payload bytes verbatim, to the end of the entry>
//
// for example:
//
//	attestlog.dev/claim/v1
//	type application/vnd.in-toto+json
//	sig ci.example.org+1cc5f2ef+AWd... 3nq...==
//
//	{"_type":"https://in-toto.io/Statement/v1","subject":[...],...}
//
// An entry is at most 65,535 bytes, the most a tlog-tiles entry bundle holds.
// In a DSSE envelope submitted to the log, each signature's keyid is the
// signer's vkey.
//
// That is a v1 entry. Since issue 11 the log also takes v2 entries
// (attestlog.dev/claim/v2): a document exactly as a builder's own tools
// signed it (a guix.sigs SHA256SUMS with its OpenPGP signature, a Debian
// .buildinfo, a minisign signature file, an in-toto link, an OSS Rebuild
// DSSE envelope), with the one signer's key (an OpenPGP certificate
// minimised to its signing keys, so that it fits), the detached signature
// if there is one, and the submitter's supplied annotations, which are
// never counted:
//
//	attestlog.dev/claim/v2
//	format <kind>
//	key <scheme> <canonical key text>
//	[sig <base64 signature>]
//	[file-sha256 <hex>]                     minisign without sha256: in its trusted comment
//	[annotation <commit|recipe|source> <value>, sorted]
//	<empty line>
//	<the signed document verbatim>
//
// Package log/claim/record defines it and is the one decoder of both
// versions: it verifies every signature, maps the claim and gives its index
// keys ([IndexKeys]), which it computes for a v1 entry exactly as [Keys]
// always has. Identities generalise to Debian sources ("deb:<source>@<version>"
// with an empty commit: the archive never reuses a version); git
// identities keep their rules. Claims whose signature names no source
// (SHA256SUMS, links, minisign without source:) are digest-only: they form
// no identity, raise no mismatch, and are indexed by subject file name
// ([IndexKeys.Names]).
//
// The package is pure (no I/O) and safe for concurrent use.
package claim
