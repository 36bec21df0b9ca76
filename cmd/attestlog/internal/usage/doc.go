// Package usage holds attestlog's table of subcommands, which the usage
// page and every -h print in one style, the error of a bad command line,
// which attestlog exits with status 2 for, so that the command and the
// internal packages that check flag values agree on it, and the help and
// version commands.
//
// This package's documentation is also the reference of every command:
// its flags, environment variables, endpoints, files and exit statuses.
// The README shows the same commands by example.
//
// # version
//
// Version (also --version) prints the module version, VCS revision and
// commit time, whether the build's checkout was modified, and the Go
// version, from the binary's build information.
//
// # serve
//
// Serve runs the log until SIGINT or SIGTERM, then shuts down gracefully.
// Every flag falls back to an environment variable, and then to a default:
//
//	--data DIR        ATTESTLOG_DATA       ./attestlog-data      state directory, created 0700
//	--http ADDR       ATTESTLOG_HTTP       127.0.0.1:7380        HTTP listen address
//	--grpc ADDR       ATTESTLOG_GRPC       127.0.0.1:7381        gRPC listen address
//	--origin ORIGIN   ATTESTLOG_ORIGIN     localhost/attestlog   checkpoint origin and key name
//	--log-level LEVEL ATTESTLOG_LOG_LEVEL  info                  debug, info, warn or error
//	--tls-cert FILE   ATTESTLOG_TLS_CERT   (none)                PEM certificate chain: HTTP and gRPC over TLS
//	--tls-key FILE    ATTESTLOG_TLS_KEY    (none)                its PEM private key; both or neither
//	--pprof ADDR      ATTESTLOG_PPROF      (off)                 net/http/pprof on its own loopback listener
//
// The origin must be a valid signed-note key name: non-empty UTF-8 with no
// spaces, no '+' and no control characters, e.g. example.com/attestlog.
// With --tls-cert and --tls-key, both ports speak TLS 1.2 or later only.
// The log reaches https witness URLs of --policy trusting the system roots
// or, with --witness-tls-ca FILE (env ATTESTLOG_WITNESS_TLS_CA), only the
// CA certificates in that PEM bundle.
// --pprof refuses an address that is not loopback (127.0.0.1:6060,
// [::1]:6060, localhost:6060).
//
// Serve checks every file and address it needs before it creates the data
// directory; if the start fails after that, it removes what it created
// (a new directory, or new files in an existing one) and nothing else. It
// refuses to start on a store another process holds, and on an archive it
// cannot write (it writes a file in archive/tmp and links it into
// archive/objects, as an upload does, and removes both).
//
// A port of 0 picks a free port. Serve prints the log's verifier key and
// the bound addresses to standard output:
//
//	log vkey: <verifier key>
//	pprof listening on <addr>   (with --pprof)
//	http listening on <addr>
//	grpc listening on <addr>
//
// and writes structured logs (slog text format) to standard error: at start
// the origin, addresses, witness policy and quorum, builder allowlist and
// rate limits; a WARN line for every mismatch a claim creates; and, at
// most every 10 seconds, an INFO line counting the claims appended.
//
// HTTP endpoints:
//
//	GET /                           status pages (HTML): /claims, /search, /mismatches, /artifacts/<sha256>; see log/web
//	GET /checkpoint                 the latest signed checkpoint (c2sp.org/tlog-tiles)
//	GET /tile/<L>/<N>[.p/<W>]       hash tiles
//	GET /tile/entries/<N>[.p/<W>]   entry bundles
//	GET /healthz                    liveness
//	GET /metrics                    Prometheus metrics: attestlog_log_*, go_*, process_*
//
// gRPC services: grpc.health.v1.Health (service "" is SERVING while the log
// runs, NOT_SERVING during shutdown) and server reflection.
//
// Files in the data directory:
//
//	log.key    the checkpoint signing key, a signed-note Ed25519 private key
//	           named ORIGIN; mode 0600. Serve refuses a key readable by group
//	           or others, or named other than --origin.
//	log.vkey   its verifier key, mode 0644; publish it to the log's clients.
//	log.db     the bbolt store: entries, tiles and the latest checkpoint.
//
// On the first run (no log.key and no log.db) serve generates the key pair.
// It never generates a key for an existing log.db: a lost key cannot be
// silently replaced.
//
// # keygen
//
// Keygen generates a signed-note Ed25519 key pair named NAME, writes the
// private key to PREFIX.key (mode 0600) and the verifier key to PREFIX.vkey
// (mode 0644), and prints the verifier key. It refuses to overwrite either
// file. PREFIX defaults to NAME with every '/' replaced by '_'. Flags must
// come before NAME.
//
// # attest
//
// Attest, run in the git checkout a build came from, hashes the artifact
// FILEs (sha256; each a subject named by its basename) and writes a build
// claim, a DSSE envelope signed by the builder's key, to -o FILE or
// standard output:
//
//	--recipe FILE|sha256:HEX  required: what fixes the build (lock file, buildinfo, build script, OCI digest)
//	--key PREFIX.key          required (env ATTESTLOG_BUILDER_KEY): a key written by keygen
//	--vkey FILE               its verifier key; default PREFIX.vkey
//	--dir DIR                 the checkout; default "."
//	--commit C                full commit hash; default git rev-parse HEAD
//	--source URI              default git remote get-url origin: https://host/path,
//	                          git@host:path and ssh://git@host/path become git+https://host/path
//	--platform P              os/arch[/variant] or any; default the running platform
//	--builder-id URI          default https://attestlog.dev/builders/<key name>
//	--ref REF                 annotation; default HEAD's branch or exact tag; empty omits it
//	--allow-dirty             attest HEAD of a checkout with uncommitted changes
//
// Without --commit, attest refuses a checkout with changes HEAD does not
// hold (git status --porcelain: modified, staged, or untracked and not
// ignored), naming the files; the artifact FILEs and -o FILE do not count.
//
// # submit, lookup, mismatches, evidence
//
// These talk to a log's gRPC API: --log ADDR (env ATTESTLOG_LOG_GRPC,
// default 127.0.0.1:7381), HOST:PORT in plaintext (for loopback) or
// grpcs://HOST[:PORT] over TLS (port 443 if omitted), which trusts the
// system roots or, with --tls-ca FILE (env ATTESTLOG_LOG_TLS_CA), only the
// CA certificates in that PEM bundle. verify, bundle, monitor and bench
// take the same two flags, and monitor's https tiles use --tls-ca too. With --log-vkey FILE|VKEY (env
// ATTESTLOG_LOG_VKEY) they verify the log's signature on every checkpoint;
// inclusion proofs and claim signatures are verified always, and any
// failure is an error.
//
// Submit appends each CLAIM and saves its receipt as CLAIM.receipt.json:
//
//	{"index": N, "tree_size": N, "entry": "<base64>", "inclusion_proof": ["<base64>", ...], "checkpoint": "<signed note>"}
//
// then uploads each --artifact FILE (repeatable), whose digest a submitted
// claim must name, with a progress bar on a terminal. It refuses a CLAIM
// that looks like a binary (NUL bytes or invalid UTF-8), suggesting
// --artifact. "attestlog receipt RECEIPT..." checks receipts offline with
// --log-vkey: the checkpoint's signature, the inclusion proof, the claim's
// signatures, and that the claim file beside it is the one it proves.
//
// Submit --format KIND takes a document as its signer made it instead of
// CLAIMs: KIND is sha256sums (--signed SHA256SUMS --signature SIG, any
// detached scheme), buildinfo (--signed, clearsigned; or with a detached
// --signature), minisign (--signature FILE.minisig, and the file by
// --artifact), link (--signed, an in-toto link) or dsse (--signed, DSSE
// envelopes, one JSON object per line). --key SCHEME:KEY or SCHEME:@FILE
// (repeatable; an OpenPGP keyring, a minisign .pub, an authorized_keys
// line, a PEM key) names the signer's key, which the entry carries so that
// anyone can re-verify it; --annotate source=URI commit=HASH recipe=SHA256
// adds fields the signature does not cover, shown as "(supplied, unsigned)"
// and never counted. log/claim/format's package doc gives the mapping of
// each kind to a claim. Lookup prints the verified claims about a FILE, a
// --digest, a --source and --commit (optionally one --platform), a Debian
// --source deb:NAME@VERSION, or a --name FILE-NAME (claims that name no
// source, such as a SHA256SUMS), as a table or --json. Mismatches lists every build for which claims name
// different digests. Evidence pull verifies one mismatch's claims and
// writes, under DIR:
//
//	mismatch.json                      the mismatch
//	checkpoint                         the checkpoint the proofs are against
//	claims/<index>.entry               each claim's entry as logged
//	claims/<index>.proof.json          {"index", "tree_size", "inclusion_proof"}
//	artifacts/<sha256>/<artifact>      each archived binary, its digest verified
//
// With --diff it compares the two binaries with diffoscope if it is in
// PATH, else reports their sizes and first differing byte.
//
// # witness
//
// Witness runs a c2sp.org/tlog-witness witness, which cosigns the
// checkpoints of the logs listed in the logs file, until SIGINT or SIGTERM.
// Flags fall back to environment variables, and then to defaults:
//
//	--data DIR        ATTESTLOG_WITNESS_DATA       ./attestlog-witness  state directory, created 0700
//	--http ADDR       ATTESTLOG_WITNESS_HTTP       127.0.0.1:7390       HTTP listen address
//	--name NAME       ATTESTLOG_WITNESS_NAME       localhost/witness    witness name, the name of its key
//	--logs FILE       ATTESTLOG_WITNESS_LOGS       (required)           trusted logs
//	--log-level LEVEL ATTESTLOG_WITNESS_LOG_LEVEL  info                 debug, info, warn or error
//	--tls-cert FILE   ATTESTLOG_WITNESS_TLS_CERT   (none)               PEM certificate chain: HTTP over TLS
//	--tls-key FILE    ATTESTLOG_WITNESS_TLS_KEY    (none)               its PEM private key; both or neither
//	--max-evidence N  ATTESTLOG_WITNESS_MAX_EVIDENCE 1000               evidence records kept per log
//	--refresh-interval D
//	                  ATTESTLOG_WITNESS_REFRESH_INTERVAL 1m             when a replay gets a fresh cosignature
//
// NAME must be a valid signed-note key name, as serve's origin. Like
// serve, a witness that fails to start leaves no data behind.
//
// The logs file has one line per trusted log key, '#' comments and blank
// lines; the origin is the key's name, and the optional number is the log's
// budget of new cosignatures per day; refusals and replays spend none of it
// (see witness.ParseLogs and witness.Witness.AddCheckpoint):
//
//	log <signed-note Ed25519 vkey> [<requests per day>]
//
// Witness prints its cosignature verifier key (type 0x04, for
// c2sp.org/tlog-cosignature verifiers) and the bound address:
//
//	witness vkey: <cosignature verifier key>
//	http listening on <addr>
//
// HTTP endpoints:
//
//	GET  /                         status page (HTML): logs, latest cosigned sizes, evidence
//	POST /add-checkpoint           c2sp.org/tlog-witness
//	GET  /<sha256 hex of origin>/checkpoint  latest cosigned checkpoint of a log
//	GET  /evidence[/<id>]          inconsistent checkpoints kept as evidence (JSON)
//	GET  /healthz                  liveness
//	GET  /metrics                  Prometheus metrics: attestlog_witness_*, go_*, process_*
//
// Files in the data directory:
//
//	witness.key   the witness's signed-note Ed25519 private key, named NAME;
//	              mode 0600. Generated on the first run (no witness.db);
//	              refused if readable by group or others or named other than --name.
//	witness.vkey  its cosignature verifier key, mode 0644; publish it to clients.
//	witness.db    the bbolt state: each log's latest cosigned checkpoint, the
//	              latest cosignature timestamp, and evidence.
//
// # verify, bundle, monitor
//
// These are the client's side. They read a client policy, --policy FILE
// (env ATTESTLOG_POLICY_FILE): c2sp.org/tlog-policy (the log's vkey and
// optional tlog-tiles URL, witnesses and their quorum) plus builder lines
// (see client.ParsePolicy):
//
//	builder  <name> <builder vkey>              several lines, one name: one identity, one vote
//	builders <name> all|any|<k> <member>...     a group of builders or groups
//	agree    <name>                             the builder or group that must agree
//
// and remember, per log, the latest verified checkpoint in --state DIR (env
// ATTESTLOG_STATE; default $XDG_STATE_HOME/attestlog, else
// ~/.local/state/attestlog; verify with an empty --state remembers nothing):
//
//	<sha256 hex of origin>.checkpoint              the latest checkpoint note, replaced atomically
//	<sha256 hex of origin>.<time>.evidence.json    two inconsistent checkpoints and the proof
//	<sha256 hex of origin>.monitor.json            monitor's position and its index of builds
//
// Verify hashes FILE (or takes --digest HEX) and decides whether the
// policy's builders agree on it, over the log's gRPC API (--log ADDR, env
// ATTESTLOG_LOG_GRPC, default 127.0.0.1:7381) or offline from --bundle FILE,
// which dials nothing. The checkpoint must carry the log's signature and
// the witness quorum and be consistent with the remembered one; every claim
// naming the digest is proven included and its signatures verified; each
// trusted identity votes once; silent builders count as no. --require NAME
// (repeatable) names builders or groups that must agree too; -k N replaces
// the agree rule with "at least N trusted identities"; --max-age D fails a
// checkpoint no witness of the policy cosigned within D. Verify prints the
// verdict (TRUSTED or NOT TRUSTED, the rule, who agreed with which keys and
// claims, who was silent, who disagreed with their digest and claim, the
// ignored signers, the witnesses' cosignature times, every problem and any
// evidence file), or with --json the client.Verdict with "exit_code" and
// "trusted". The exit status is a bitmask:
//
//	0   trusted
//	1   no claim names the digest
//	2   the builder quorum (agree rule, -k, --require) is not met
//	4   a trusted builder claimed another digest for the same build
//	8   a proof, signature or checkpoint failed (witness quorum, consistency, freshness)
//	16  verify could not decide: bad command line, unreadable file, policy or bundle, log unreachable
//
// When a checkpoint is not shown consistent with the remembered one, verify
// keeps the remembered one and sets bit 8; only if the two signed
// checkpoints and the proof prove a fork (see client.CheckEvidence) does it
// write an evidence file to the state directory and name it. "verify
// --policy FILE --evidence FILE" checks an evidence file anywhere: exit 0,
// with its own finding, if it proves the log signed inconsistent
// checkpoints, 8 if it does not, 16 if it is malformed. It never prints the
// file's description.
//
// Bundle writes to -o OUT what verify --bundle needs: the log's witnessed
// checkpoint, every claim naming the digest of FILE (or DIGEST, 64 hex
// digits) and every claim about the same builds, each with a
// c2sp.org/tlog-proof (format: client.Bundle). With --policy it writes the
// bundle only if it verifies offline under that policy, else exits with the
// verdict's bits. Without --policy it refuses, unless --unverified, which
// writes a bundle that nothing checked and says so. With --state DIR it adds the consistency proof from the
// checkpoint DIR remembers, so that a verifier holding that state can use
// the bundle offline. Other failures exit 16.
//
// Monitor follows the log from where it stopped (first: the empty tree) to
// its witnessed checkpoint, every --interval (default 10s) until SIGINT or
// SIGTERM, or once with --once. It reads the tiles over HTTP (--http URL,
// env ATTESTLOG_LOG_HTTP, default the URL on the policy's log line) and
// the log's answers over gRPC (--log), and reports (see client.MonitorLog):
// a checkpoint failing the policy or inconsistent with the remembered one
// (with an evidence file if it is proven), a stale checkpoint (smaller than
// the remembered one, naming both sizes, or not cosigned by a witness of
// the policy within --max-age, default 24h, 0 for no limit), a hash tile
// or entry bundle that does not
// authenticate, an entry that is no valid claim or carries a bad signature,
// a claim LookupByDigest hides or invents, and a mismatch ListMismatches
// leaves out or invents, recomputed from the entries. A pass that read new
// entries, found something or saw the number of mismatches change (every
// pass with -v, and the first) prints one summary line, which says apart
// whether the log answered consistently and whether builds disagree
// (mismatches), then the new claims and one "FINDING <kind> (...)" line per
// finding; --json prints the client.MonitorReport of every pass instead. --exec CMD runs
// "sh -c CMD" once per new claim (again if a pass fails before the state
// advanced), with the entry bytes on standard input, its output on standard
// error, and ATTESTLOG_INDEX, ATTESTLOG_SHA256 and ATTESTLOG_ARTIFACT (the
// first subject), ATTESTLOG_SUBJECTS ("name sha256" lines),
// ATTESTLOG_SOURCE, ATTESTLOG_COMMIT, ATTESTLOG_PLATFORM, ATTESTLOG_RECIPE,
// ATTESTLOG_SIGNERS (vkeys, space-separated) and ATTESTLOG_KIND
// ("dsse-slsa" for a v1 claim, else the document's format) in its
// environment; a
// failing command fails the pass. Monitor exits 8 if any pass had findings,
// 16 if it could not monitor (with --once: if the pass failed), else 0.
//
// # demo
//
// Demo tells attestlog's whole story in a few seconds, on loopback, in a
// temporary directory that it removes at the end (also on failure or
// Ctrl-C; --keep keeps it). It needs nothing but the go command, with which
// it builds a small program. It runs a log (serve --policy) and three
// witnesses in this process on free ports; four builders (author, ci,
// rebuilder-a, rebuilder-b) build the program reproducibly and get one
// sha256, and a compromised mirror injects a change and gets another; each
// attests and submits its claim and binary, and the log flags the
// mismatch; a client whose policy trusts the four and needs 3 of them
// verifies both binaries (client.Verify); the investigator pulls the
// mismatch's evidence (evidence pull --diff); then the log is rolled back
// to a copy of its data from before the mirror's claim and signs another
// checkpoint of the same size, which the witnesses refuse and the client's
// remembered state catches with an evidence file. Each step prints what
// happened and why it matters; any unexpected outcome is an error.
// --verbose shows the servers' logs on standard error.
package usage
