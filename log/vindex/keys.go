package vindex

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/attestlog/attestlog/log/claim"
)

// Kinds of search key: each lookup the log answers has one.
const (
	kindDigest   = "digest"   // artifact sha256
	kindSource   = "source"   // source URI and commit, all platforms
	kindBuild    = "build"    // source URI, commit and platform
	kindIdentity = "identity" // source URI, commit, platform and artifact name
	kindBuilder  = "builder"  // builder verifier key, or "<scheme>:<key ID>"
	kindName     = "name"     // subject file name of a digest-only claim
)

// searchKey returns SHA-256 over tagKey, the kind and the fields, each
// preceded by its length as a uvarint, so that no two (kind, fields) share
// a key string whatever bytes the fields hold.
func searchKey(kind string, fields ...string) Key {
	var buf [256]byte // most key strings fit, and then it stays on the stack
	b := appendField(append(buf[:0], tagKey...), kind)
	for _, f := range fields {
		b = appendField(b, f)
	}
	return sha256.Sum256(b)
}

// appendField appends uvarint(len(f)) || f.
func appendField(b []byte, f string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(f))), f...)
}

// DigestKey returns the search key of the claims naming an artifact digest,
// 64 lowercase hex digits as [claim.Claim] holds it.
func DigestKey(sha256Hex string) Key { return searchKey(kindDigest, sha256Hex) }

// SourceKey returns the search key of the claims about a source commit on
// any platform; source is normalised as [claim.Claim] holds it.
func SourceKey(source, commit string) Key { return searchKey(kindSource, source, commit) }

// BuildKey returns the search key of the claims about a source commit on
// one platform.
func BuildKey(source, commit, platform string) Key {
	return searchKey(kindBuild, source, commit, platform)
}

// IdentityKey returns the search key of the claims about one build
// identity.
func IdentityKey(id claim.Identity) Key {
	return searchKey(kindIdentity, id.Source, id.Commit, id.Platform, id.Artifact)
}

// BuilderKey returns the search key of the claims signed by a builder key,
// named as [claim.IndexKeys] Builders name it: a signed-note key by its
// vkey, any other by "<scheme>:<key ID>".
func BuilderKey(builder string) Key { return searchKey(kindBuilder, builder) }

// NameKey returns the search key of the digest-only claims naming a file
// name ([claim.IndexKeys] Names).
func NameKey(name string) Key { return searchKey(kindName, name) }

// ClaimKeys is the map function: the search keys under which the map holds
// a claim entry whose index keys (log/claim/record's Keys) are k, each
// once: its digests, its source commits, with and without platform, its
// build identities, its builders and (digest-only claims) its file names.
// A v1 entry has no names, so its keys are those it always had. The log's map, a client's check of the
// tail and a monitor's recomputation all take keys from here.
func ClaimKeys(k claim.IndexKeys) []Key {
	keys := make([]Key, 0, len(k.Digests)+2*len(k.Builds)+len(k.Identities)+len(k.Builders)+len(k.Names))
	for _, d := range k.Digests {
		keys = append(keys, DigestKey(d))
	}
	for _, b := range k.Builds {
		keys = append(keys, SourceKey(b.Source, b.Commit), BuildKey(b.Source, b.Commit, b.Platform))
	}
	for _, id := range k.Identities {
		keys = append(keys, IdentityKey(id))
	}
	for _, v := range k.Builders {
		keys = append(keys, BuilderKey(v))
	}
	for _, n := range k.Names {
		keys = append(keys, NameKey(n))
	}
	return dedupKeys(keys)
}

// dedupKeys drops the repeats of keys, in place, keeping the first of
// each in order. A claim has half a dozen keys, which a few comparisons
// dedup without the map that more need.
func dedupKeys(keys []Key) []Key {
	out := keys[:0]
	if len(keys) <= 32 {
		for _, key := range keys {
			if !slices.Contains(out, key) {
				out = append(out, key)
			}
		}
		return out
	}
	seen := make(map[Key]bool, len(keys))
	for _, key := range keys {
		if !seen[key] {
			seen[key] = true
			out = append(out, key)
		}
	}
	return out
}

// ClaimAdditions returns the additions that put the claim entry at index,
// whose index keys are k, into the map.
func ClaimAdditions(index int64, k claim.IndexKeys) []Addition {
	keys := ClaimKeys(k)
	adds := make([]Addition, len(keys))
	for i, key := range keys {
		adds[i] = Addition{Key: key, Index: index}
	}
	return adds
}
