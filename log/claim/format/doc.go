// Package format reads the documents builders already sign and maps each to
// a build claim, marking which fields the signature covers. It is the
// second step of accepting them (issue 11): log/claim/scheme verifies
// signatures; this package says what the signed bytes claim; entry
// encoding (attestlog.dev/claim/v2), the log, policies and the CLI do not
// use it yet.
//
// # Kinds of document
//
//	kind        document                                        signature schemes
//	sha256sums  coreutils sha256sum output (guix.sigs SHA256SUMS)   any detached: openpgp, ssh, minisign, ...
//	buildinfo   Debian .buildinfo, deb822 (deb-buildinfo(5))    openpgp clearsigned, or any detached
//	minisign    the trusted comment of a minisign signature     minisign
//	link        in-toto link metadata v0.9 (rebuilderd)         ed25519 (or ecdsa-p256), over canonical JSON
//	dsse        DSSE envelope, in-toto Statement v1 (OSS Rebuild)  ecdsa-p256 (or ed25519), over PAE
//
// [Open] verifies a [Document] with a [scheme.Verifier] and maps it; the
// Parse and Map functions of each kind work without keys. Every parser is
// strict: it accepts one spelling and, where the format has one, its Format
// function re-encodes the input byte for byte.
//
// # Signed and supplied fields
//
// A [Claim] holds only what the signature covers, directly or derived by
// the rules below from signed bytes (a platform from a signed file name, a
// recipe digest from signed fields); a field the signature does not cover
// is empty. What a submitter adds (the git commit of a release tag that a
// SHA256SUMS file does not name) goes in [Claim.Supplied], is shown as
// supplied, and never enters an identity; a supplied field that the
// signature already covers is refused.
//
// # Identities
//
// A build identity is (source, commit, platform, artifact), from signed
// fields only ([Claim.Identities]). Sources are git
// ("git+https://host/path" with a full commit, normalised as log/claim
// does) or Debian ("deb:<source>@<version>" with an empty commit: the
// archive never reuses a version, and the version in a buildinfo's Version
// field includes a binNMU's "+bN", so a binNMU is its own build). A claim
// whose signature names no source is digest-only ([Claim.DigestOnly]): it
// vouches for digests under file names, counts towards a quorum for those
// digests, and forms no identity; a SHA256SUMS file, an in-toto link and a
// minisign signature without source:/commit: are digest-only. A subject
// whose platform the tables below do not know forms no identity either.
//
// # Mapping rules
//
// sha256sums ([ParseSHA256Sums], [MapSHA256Sums]): each line
// "<64 lowercase hex>  <name>" (or " *<name>", binary mode) is a subject;
// its platform comes from its name ([ReleasePlatform]): the longest target
// of this table found in the name between "-", "_" or "." delimiters,
//
//	x86_64-linux-gnu, x86_64-linux-musl, x86_64-unknown-linux-gnu,
//	  x86_64-unknown-linux-musl, linux-x86_64, x86_64-linux        linux/amd64
//	aarch64-linux-gnu, aarch64-linux-musl, aarch64-unknown-linux-gnu,
//	  aarch64-unknown-linux-musl, linux-aarch64, aarch64-linux     linux/arm64
//	arm-linux-gnueabihf                                            linux/arm/v7
//	i686-linux-gnu                                                 linux/386
//	powerpc64-linux-gnu                                            linux/ppc64
//	powerpc64le-linux-gnu                                          linux/ppc64le
//	riscv64-linux-gnu, linux-riscv64, riscv64-linux                linux/riscv64
//	s390x-linux-gnu                                                linux/s390x
//	x86_64-apple-darwin, macos-x86_64, x86_64-macos                darwin/amd64
//	arm64-apple-darwin, aarch64-apple-darwin, macos-aarch64,
//	  aarch64-macos                                                darwin/arm64
//	win64, x86_64-w64-mingw32, x86_64-pc-windows-msvc,
//	  windows-x86_64, x86_64-windows                               windows/amd64
//	aarch64-pc-windows-msvc, windows-aarch64, aarch64-windows      windows/arm64
//	win32                                                          windows/386
//	freebsd-x86_64, x86_64-freebsd                                 freebsd/amd64
//
// else "any" for a source release "<name>-<version>.<tar.gz|tar.xz|tar.bz2|
// tar.zst|tgz|zip>" whose version starts with a digit (bitcoin-28.0.tar.gz),
// else unknown. So bitcoin-28.0-x86_64-linux-gnu-debug.tar.gz is linux/amd64
// and bitcoin-28.0-win64-setup-unsigned.exe windows/amd64.
//
// buildinfo ([ParseBuildinfo], [MapBuildinfo]): the text is deb822
// ([ParseDeb822]; a clearsigned file goes through [scheme.ParseClearsigned]
// first, and gets back the final newline that gpg --clearsign leaves out
// of the signed text and Debian's buildd signing keeps). Source is "deb:<Source name>@<Version>"; the .dsc's sha256 from
// Checksums-Sha256, when listed, is SourceDigest; every other file of
// Checksums-Sha256 is a subject, with the platform of its Debian
// architecture suffix (amd64 linux/amd64, arm64 linux/arm64, armhf
// linux/arm/v7, armel linux/arm/v5, i386 linux/386, ppc64el linux/ppc64le,
// ppc64 linux/ppc64, s390x linux/s390x, riscv64 linux/riscv64, mips64el
// linux/mips64le, loong64 linux/loong64, all any), which must be listed in
// Architecture. The recipe is the sha256 of [BuildinfoDoc.RecipeForm]:
//
//	Build-Architecture: <arch>\n
//	Installed-Build-Depends:\n
//	 <package[:arch] (= version)>\n     each entry, sorted bytewise
//	Environment:\n
//	 <NAME="value">\n                   each line, sorted bytewise
//
// minisign ([ParseTrustedComment], [MapMinisign]): the trusted comment is
// minisign's tab-separated form, extended. Its fields, separated by one tab,
// in any order, each at most once:
//
//	timestamp:<decimal Unix time>      minisign writes it
//	file:<file basename>               minisign writes it; required: the subject's name
//	hashed                             minisign appends it (a bare word) for prehashed signatures
//	source:<git+https URI>             normalised, without @ref; with commit:
//	commit:<40 or 64 lowercase hex>    with source:
//	recipe:<64 lowercase hex>          sha256 of what fixes the build
//	platform:<os/arch[/variant]|any>   overrides the platform of the file name
//	sha256:<64 lowercase hex>          the file's sha256
//
// for example (with tabs):
//
//	timestamp:1718150245	file:zig-x86_64-linux-0.14.1.tar.xz	hashed	source:git+https://github.com/ziglang/zig	commit:d03a147e...	sha256:24aeeec8...
//
// Other keys and values in any other spelling are refused, so a comment
// has one meaning. minisign signs BLAKE2b-512 of the file, not its sha256;
// the two are bound in one of two ways. With sha256: in the trusted comment,
// the key signed the sha256 itself (the global signature covers the
// comment), and the claim re-verifies from the signature file alone
// ([scheme.MinisignKey.OpenComment]); if the file is given too, its
// signature and sha256 are checked as well. Without sha256:, the file must
// be given (uploaded to the log, whose archive keeps it): the file
// signature is checked over it and the sha256 computed from it, and anyone
// re-verifying needs the archived file.
//
// link ([ParseLink], [MapLink]): subjects are the products (file
// basenames with a sha256), with the platform of the file name
// ([PackagePlatform]: a Debian .deb's architecture suffix, an Arch Linux
// package's architecture, else [ReleasePlatform]); the recipe is the
// sha256 of the one material (rebuilderd's: the .buildinfo it rebuilt),
// or, with several materials, the sha256 of the canonical JSON of the
// materials object. Signatures (hex) are over the canonical JSON of
// "signed".
//
// dsse ([ParseEnvelope], [MapOSSRebuild]): the payload is an in-toto
// Statement v1 with a SLSA Provenance v1 predicate of buildType
// https://docs.oss-rebuild.dev/builds/Rebuild@v0.1: the one subject
// "rebuild/<artifact>" is the artifact (platform any), the
// resolvedDependencies entry named "git+https://..." gives the source and
// its digest "sha1" the commit, and the recipe is the sha256 of the
// runDetails byproduct "build.json". Signatures are over DSSE's PAE. The
// payloadType is application/vnd.in-toto+json or the statement's type URI
// https://in-toto.io/Statement/v1 (OSS Rebuild has published both).
//
// # Canonical JSON
//
// Links are signed over OLPC canonical JSON, as securesystemslib's
// encode_canonical writes it (and in-toto-rs, which rebuilderd uses):
// no whitespace; object keys sorted by their UTF-8 bytes; strings in
// quotes with '"' and '\' escaped by a backslash and every other byte,
// control characters included, written as it is; integers in decimal;
// true, false, null; no other numbers. [CanonicalJSON] implements it; JSON
// read here must be valid UTF-8 with no key twice in an object.
//
// # What is left out
//
// in-toto links signed with RSA or GPG keys, link layouts and their
// verification, DSSE payloads other than OSS Rebuild's Rebuild
// attestations (the ArtifactEquivalence attestation of the same bundle is
// refused), buildinfo fields other than those above, and minisign trusted
// comments outside the schema.
//
// The package is pure (no I/O, no goroutines) and safe for concurrent use.
package format
