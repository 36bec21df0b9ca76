package client

import (
	"time"

	"github.com/attestlog/attestlog/log/claim"

	"golang.org/x/mod/sumdb/tlog"
)

// Exit code bits of [Verdict.ExitCode], as attestlog verify uses them.
const (
	ExitNoClaims  = 1 // no claim names the digest
	ExitNoQuorum  = 2 // the agree rule of the policy is not met
	ExitConflict  = 4 // a trusted builder claimed another digest for the same build
	ExitVerifyErr = 8 // a proof, signature or checkpoint failed to verify
)

// A Verdict is the outcome of [Verify] for one artifact digest. It
// serialises to JSON as attestlog verify --json prints it. Lists are in
// policy order (builders) or index order (claims); empty lists are empty,
// not null.
type Verdict struct {
	Digest string `json:"sha256"`
	// Checkpoint is the source's checkpoint if it carries a valid log
	// signature, else nil. Claims were looked up and proven against it only
	// if no "checkpoint", "consistency" or "freshness" problem is reported.
	Checkpoint *CheckpointInfo `json:"checkpoint"`
	// NoClaims is true if the lookup against the verified checkpoint found
	// no claim naming the digest (claims past it are in Unwitnessed).
	NoClaims bool `json:"no_claims"`
	// Agree is the policy's agree rule. K, if positive, replaced it
	// ([VerifyOptions.K]): at least K trusted identities must agree.
	Agree string `json:"agree"`
	K     int    `json:"k,omitempty"`
	// Required are the builders or groups that [VerifyOptions.Require]
	// named, and RequiredMissing those of them that did not agree.
	Required        []string `json:"required"`
	RequiredMissing []string `json:"required_missing"`
	// QuorumMet is whether the agree rule (or K) holds and every required
	// builder or group agreed.
	QuorumMet bool          `json:"quorum_met"`
	Groups    []GroupResult `json:"groups"`
	// Agreed are the trusted builders with a verified claim naming the
	// digest: one vote each, whatever the number of their keys and claims.
	Agreed []Vote `json:"agreed"`
	// Silent are the trusted builders with neither a vote nor a conflict.
	// They count as no: a silent builder never shrinks the denominator.
	Silent []string `json:"silent"`
	// Disagreed are the verified claims by trusted builders that name
	// another digest for a build that a vote claimed to give this digest.
	Disagreed []Conflict `json:"disagreed"`
	// Others are verified claims naming another digest for a build of
	// this digest that do not count against it (no exit code bit): claims
	// by trusted builders for a build that only untrusted signers gave this
	// digest, looked up when no trusted builder voted (so a verdict can say
	// what the trusted builders built instead), and claims by untrusted
	// signers for a build a vote gave this digest (an open mismatch, which
	// a trusted verdict names).
	Others []OtherClaim `json:"others"`
	// Ignored are signers of verified claims naming the digest whom the
	// policy does not trust.
	Ignored []IgnoredSigner `json:"ignored"`
	// Unwitnessed are indexes of claims naming the digest that the log
	// holds past the checkpoint; they do not vote until witnessed.
	Unwitnessed []int64 `json:"unwitnessed"`
	// Problems are the verification failures: each makes ExitCode carry
	// [ExitVerifyErr], and a claim with a problem does not vote.
	Problems []Problem `json:"problems"`
	// Evidence is the path of the evidence file written when the checkpoint
	// was inconsistent with the remembered one, else empty.
	Evidence string `json:"evidence,omitempty"`
	// Inconsistency is the fork found against the remembered checkpoint, if any.
	Inconsistency *InconsistencyError `json:"-"`
}

// CheckpointInfo describes a verified checkpoint.
type CheckpointInfo struct {
	Origin    string        `json:"origin"`
	Size      int64         `json:"size"`
	Hash      tlog.Hash     `json:"hash"`
	Note      string        `json:"note"`      // the signed note verbatim
	Witnesses []Cosignature `json:"witnesses"` // policy witnesses whose cosignatures verified, by name
}

// A Cosignature is a verified cosignature by a witness of the policy.
type Cosignature struct {
	Witness string    `json:"witness"`
	Time    time.Time `json:"time"`
}

// A GroupResult is how a builders group of the policy fared.
type GroupResult struct {
	Name   string `json:"name"`
	K      int    `json:"k"`      // members needed
	Of     int    `json:"of"`     // members
	Agreed int    `json:"agreed"` // members that agreed
	Met    bool   `json:"met"`
}

// A Vote is a trusted builder's agreement with the digest.
type Vote struct {
	Builder string   `json:"builder"`
	Keys    []string `json:"keys"`   // key names of the policy's vkeys that signed
	Claims  []int64  `json:"claims"` // indexes of the claims
}

// A Conflict is a claim by a trusted builder naming another digest for the
// same build identity (source, commit, platform, artifact name).
type Conflict struct {
	Builder  string   `json:"builder"`
	Key      string   `json:"key"`   // key name of the policy's vkey that signed
	Claim    int64    `json:"claim"` // index of the conflicting claim
	Identity Identity `json:"identity"`
	SHA256   string   `json:"sha256"` // the other digest
}

// An OtherClaim is a verified claim giving a build identity of the digest
// another digest, which is not a [Conflict]: see [Verdict.Others].
type OtherClaim struct {
	// Trusted says whether Signers are builders of the policy (by name) or
	// keys it does not trust (by verifier key).
	Trusted  bool     `json:"trusted"`
	Signers  []string `json:"signers"`
	Claim    int64    `json:"claim"` // index of the claim
	Identity Identity `json:"identity"`
	SHA256   string   `json:"sha256"` // the other digest
}

// An Identity is a build identity; see [claim.Identity].
type Identity struct {
	Source   string `json:"source"`
	Commit   string `json:"commit"`
	Platform string `json:"platform"`
	Artifact string `json:"artifact"`
}

// ID returns the identity's ID, 64 lowercase hex digits ([claim.Identity.ID]):
// the identifier of its mismatch.
func (id Identity) ID() string { return claim.Identity(id).ID() }

// An IgnoredSigner is a key the policy does not trust that signed claims
// naming the digest.
type IgnoredSigner struct {
	VKey   string  `json:"vkey"`
	Claims []int64 `json:"claims"`
}

// A Problem is one verification failure.
type Problem struct {
	// What failed: "checkpoint", "consistency", "freshness", "lookup",
	// "hidden claim", "inclusion proof", "entry", "signature" or "statement".
	What  string `json:"what"`
	Index *int64 `json:"index,omitempty"` // the claim's index, for claim problems
	Err   string `json:"error"`
}

// ExitCode returns the verdict as attestlog verify's exit code, a bitmask of
// [ExitNoClaims], [ExitNoQuorum], [ExitConflict] and [ExitVerifyErr]; 0
// means the digest is verified. Each bit is an independent fact: no claims
// at all also means no quorum (3), and a checkpoint that fails means no
// lookup and no votes (10).
func (v *Verdict) ExitCode() int {
	code := 0
	if v.NoClaims {
		code |= ExitNoClaims
	}
	if !v.QuorumMet {
		code |= ExitNoQuorum
	}
	if len(v.Disagreed) > 0 {
		code |= ExitConflict
	}
	if len(v.Problems) > 0 {
		code |= ExitVerifyErr
	}
	return code
}
