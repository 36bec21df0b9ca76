// Package scheme verifies the signature schemes builders already sign with,
// so that their documents can become attestlog claims as the signer made
// them. Nothing in the log uses it yet.
//
// Every scheme has a public key type implementing [Verifier]: a canonical
// key ID, a canonical one-line text (what a policy line
// "builder NAME SCHEME KEY" holds; [ParseVerifier] reads "SCHEME KEY" for
// any scheme and [Format] writes it), and Verify(message, signature), whose
// errors name what failed and wrap [ErrVerify] when a well-formed signature
// is wrong. Canonical texts are strict, one spelling per key; import
// functions turn the files tools write into keys.
//
//	scheme      key text (KEY)                       key ID                        signature given to Verify
//	note        vkey <name>+<hash>+<base64>          <name>+<hash>                 raw 64-byte Ed25519
//	openpgp     <FINGERPRINT> <base64 cert>          fingerprint, uppercase hex    one signature packet, binary or armored
//	minisign    RW... (base64)                       key number, 16 uppercase hex  the .minisig file
//	ssh         <type> <base64>                      SHA256:<base64> fingerprint   the armored SSHSIG file
//	ed25519     64 lowercase hex                     hex SHA-256 of the key        raw 64-byte Ed25519
//	ecdsa-p256  base64 DER SubjectPublicKeyInfo      hex SHA-256 of that DER       ASN.1 DER ECDSA over SHA-256
//
// # What each scheme verifies, and what it leaves out
//
// note (https://c2sp.org/signed-note): an Ed25519 signature under a vkey
// whose key hash must match its name and key. Key names are checked only
// against the signed-note rules; log/claim adds its own.
//
// openpgp (RFC 4880, RFC 9580, with github.com/ProtonMail/go-crypto's
// openpgp/v2): detached signatures of type binary or text, binary or
// armored, one signature packet each ([ParseOpenPGPSignature] gives its
// canonical binary form), and clearsigned documents ([ParseClearsigned]
// returns the text exactly as covered and the signature). RSA, EdDSA and
// ECDSA keys (secp256k1 included, which go-crypto refuses by default), and
// whatever else go-crypto verifies with its default algorithm policy
// otherwise (which refuses MD5 and SHA-1 message hashes).
// Validity is judged at the signature's creation time: the certificate's
// self-signatures current then, key and subkey expiry, and revocations. So a
// release signed in April still verifies after the key expires in June, and
// a signature dated after the key's expiry, or after a revocation for
// retirement or supersession, is refused; a revocation for compromise or
// without a reason refuses every signature. The signature's own expiry
// time is not enforced, and neither is its creation time compared with the
// clock: a log entry must re-verify the same way forever, and the log's
// timestamp, not the signer's clock, says when a claim was made. Keys come
// from whole keyrings ([ReadOpenPGPKeyring], go-crypto's ReadKeyRing) and are
// trimmed by [Minimize] so that an entry can carry the certificate: the
// primary key, its user IDs and signing subkeys with their self-signatures
// and revocations, no third-party certifications. Certification chains (the
// web of trust) are not evaluated: the policy names fingerprints.
//
// minisign (https://jedisct1.github.io/minisign/): written here on
// crypto/ed25519 and golang.org/x/crypto/blake2b. Public keys "RW..." and
// key files, signature files with algorithm "ED" (Ed25519 over BLAKE2b-512
// of the file, the default) or "Ed" (legacy, over the file). The key number
// in the signature must be the key's, and both the file signature and the
// global signature over the trusted comment must verify;
// [MinisignKey.Open] returns the trusted comment verbatim. The untrusted
// comment is kept but not signed. Encrypted secret keys and signing are out
// of scope.
//
// ssh (OpenSSH PROTOCOL.sshsig, with github.com/hiddeco/sshsig): armored
// signatures as ssh-keygen -Y sign writes them, namespace [SSHNamespace]
// ("file") only, hash sha256 or sha512, keys ssh-ed25519,
// ecdsa-sha2-nistp256 and ssh-rsa of at least 2048 bits. Certificates,
// security keys (sk-*) and allowed_signers options are out of scope.
//
// ed25519: raw Ed25519 signatures (RFC 8032), as in-toto link v0.9
// metadata holds them hex-encoded over the canonical JSON of "signed". Keys
// import from hex, base64 or PEM ([ParseEd25519PublicKey]), including the
// non-standard SubjectPublicKeyInfo with NULL parameters that in-toto-rs
// and so rebuilderd write. Link parsing and canonical JSON are not here.
//
// ecdsa-p256: ASN.1 DER ECDSA signatures over the SHA-256 of the message;
// for DSSE envelopes (OSS Rebuild), the message is [PAE]. Keys are PKIX
// ("PUBLIC KEY" PEM) on P-256 only.
//
// What a signed document means (subjects, source, recipe) is the business of
// log/claim; this package only says whether a key signed some bytes.
//
// The package is pure (no I/O, no goroutines) and safe for concurrent use.
package scheme
