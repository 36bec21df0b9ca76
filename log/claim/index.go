package claim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// IndexKeys are the keys under which a log indexes one claim entry, and so
// the keys under which a client expects to find it: a lookup by any of them
// must return the entry. The log's index (package log) and a monitor's
// recomputation (package client) both take them from [Keys], so that the
// two can never disagree about where an entry belongs.
type IndexKeys struct {
	// Digests are the artifact digests of the subjects, in subject order,
	// each once: a lookup by any of them returns the claim.
	Digests []string
	// Builds are the source commit and platforms: a lookup by source and
	// commit (all platforms) or by source, commit and platform returns the
	// claim. There is one per distinct platform among the subjects that
	// have a build identity, in subject order: exactly one for a v1 entry
	// (a statement names one platform), none for a digest-only claim.
	Builds []Build
	// Identities are the build identities of the subjects, in subject order
	// (distinct, since subject names are); Identities[i] has the digest
	// of subject i.
	Identities []Identity
	// Builders name the signers, in entry order: a lookup by builder
	// returns the claim. A signed-note signer is named by its verifier key
	// (vkey), as v1 entries always were; a signer of another scheme by
	// "<scheme>:<key ID>" (see log/claim/scheme).
	Builders []string
	// Names are the subject file names of a digest-only claim (one that
	// names no source), each once, in subject order; nil for a claim with
	// an identity. A lookup by file name returns the claim, so that a
	// client can find every claim about a release file by its name.
	Names []string
}

// A Build is the part of a build identity that a lookup by source names:
// normalised source URI, full commit hash and platform.
type Build struct {
	Source, Commit, Platform string
}

// Keys returns the index keys of a claim entry e whose statement is c.
func Keys(e *Entry, c *Claim) IndexKeys {
	k := IndexKeys{Builds: []Build{{Source: c.Source, Commit: c.Commit, Platform: c.Platform}}, Identities: c.Identities()}
	seen := map[string]bool{}
	for _, s := range c.Subjects {
		if !seen[s.SHA256] {
			seen[s.SHA256] = true
			k.Digests = append(k.Digests, s.SHA256)
		}
	}
	for _, s := range e.Signatures {
		k.Builders = append(k.Builders, s.VKey)
	}
	return k
}

// Key returns the identity key of id: SHA-256 over its source, commit,
// platform and artifact name joined by NUL bytes, which no field contains.
// It names the build in a log's index, and its hex form ([Identity.ID])
// names the build's mismatch, if there is one.
func (id Identity) Key() [sha256.Size]byte {
	h := sha256.New()
	for i, f := range []string{id.Source, id.Commit, id.Platform, id.Artifact} {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(f))
	}
	return [sha256.Size]byte(h.Sum(nil))
}

// ID returns the identity key of id as 64 lowercase hex digits: the stable
// identifier of the build's mismatch.
func (id Identity) ID() string {
	k := id.Key()
	return hex.EncodeToString(k[:])
}

// ParseIdentityID parses an identity ID, 64 lowercase hex digits as
// [Identity.ID] writes them, and returns the identity key.
func ParseIdentityID(s string) ([sha256.Size]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != s {
		return [sha256.Size]byte{}, fmt.Errorf("claim: identity ID %q is not 64 lowercase hex digits", s)
	}
	return [sha256.Size]byte(b), nil
}
