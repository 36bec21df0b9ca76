package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/bindiff"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/progress"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/record"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errNotArchived means the log's archive does not hold an artifact.
var errNotArchived = errors.New("not in the archive")

// evidenceConfig is the command line of evidence pull.
type evidenceConfig struct {
	log  logFlags
	ref  mismatchRef
	out  string
	diff bool
}

// A mismatchRef names a mismatch: by its ID (the identity ID, 64 hex
// digits), or, if id is empty, by the index of the claim that created it,
// which named mismatches before they were keyed by identity.
type mismatchRef struct {
	id    string
	claim int64
}

func parseMismatchRef(s string) (mismatchRef, error) {
	if _, err := claim.ParseIdentityID(s); err == nil {
		return mismatchRef{id: s}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return mismatchRef{}, fmt.Errorf("mismatch ID %q is neither an ID from \"attestlog mismatches\" (64 hex digits) nor the index of the claim that created it", s)
	}
	return mismatchRef{claim: n}, nil
}

func (r mismatchRef) String() string {
	if r.id != "" {
		return r.id
	}
	return fmt.Sprintf("created by claim %d", r.claim)
}

func (r mismatchRef) request() *pb.GetMismatchRequest {
	if r.id != "" {
		return &pb.GetMismatchRequest{IdentityId: r.id}
	}
	return &pb.GetMismatchRequest{Id: uint64(r.claim)}
}

func parseEvidenceFlags(args []string, stderr io.Writer) (evidenceConfig, error) {
	var c evidenceConfig
	fs := flag.NewFlagSet("evidence pull", flag.ContinueOnError)
	fs.SetOutput(stderr)
	usage.Set(fs) // before "evidence -h", which does not reach parseFlags
	c.log.register(fs)
	fs.StringVar(&c.out, "o", "", "write the evidence to `dir`ectory; required")
	fs.BoolVar(&c.diff, "diff", false, "compare the two binaries: with diffoscope if it is in PATH, else the first differing byte")
	if len(args) == 0 || args[0] != "pull" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fs.Usage()
			return c, flag.ErrHelp
		}
		return c, usageErrorf("evidence: want \"evidence pull ID -o DIR\"")
	}
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return c, err
	}
	if len(pos) != 1 {
		return c, usageErrorf("evidence pull: want one mismatch ID, got %d arguments", len(pos))
	}
	if c.ref, err = parseMismatchRef(pos[0]); err != nil {
		return c, usageErrorf("evidence pull: %v", err)
	}
	if c.out == "" {
		return c, usageErrorf("evidence pull: -o DIR is required")
	}
	return c, nil
}

// evidence pulls a mismatch with its claims, proofs and binaries into a
// directory, verifying everything on the way.
func evidence(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseEvidenceFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	lc, err := c.log.dial()
	if err != nil {
		return err
	}
	defer lc.Close()
	resp, err := lc.GetMismatch(ctx, c.ref.request())
	if err != nil {
		return fmt.Errorf("getting mismatch %s: %w", c.ref, err)
	}
	m, vcs, cpStatus, err := lc.verifyMismatch(c.ref, resp)
	if err != nil {
		return fmt.Errorf("mismatch %s does not verify: %w", c.ref, err)
	}
	report.PrintMismatchHeader(stdout, m)
	fmt.Fprintf(stdout, "%s, proofs verified against %s\n", report.Count(len(vcs), "claim", "claims"), report.TermSafe(cpStatus))
	if err := writeEvidence(c.out, m, resp.GetCheckpoint(), vcs); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: mismatch.json, checkpoint and %s with proofs\n", report.TermSafe(c.out), report.Count(len(vcs), "claim", "claims"))
	// A bad artifact does not stop the others: evidence is worth having
	// even when one binary of it cannot be had. Its error comes last.
	bins, pullErr := lc.pullArtifacts(ctx, c.out, m, stdout, stderr)
	if !c.diff {
		return pullErr
	}
	if len(bins) != 2 {
		fmt.Fprintf(stderr, "attestlog: not diffing: %d binaries pulled, --diff compares exactly 2\n", len(bins))
		return pullErr
	}
	if err := diffBinaries(ctx, bins[0], bins[1], stdout, stderr); err != nil {
		return errors.Join(err, pullErr)
	}
	return pullErr
}

// verifyMismatch verifies every claim of a mismatch like lookup does, and
// that the claims say what the mismatch says: each listed claim names the
// build identity with its digest. cpStatus describes the checkpoint.
func (lc *logClient) verifyMismatch(ref mismatchRef, resp *pb.GetMismatchResponse) (m report.Mismatch, vcs []client.VerifiedClaim, cpStatus string, err error) {
	if m, err = newMismatchJSON(resp.GetMismatch()); err != nil {
		return m, nil, "", err
	}
	cp, verified, err := lc.checkpoint(resp.GetCheckpoint())
	if err != nil {
		return m, nil, "", err
	}
	if vcs, err = verifyProvenClaims(cp, resp.GetClaims()); err != nil {
		return m, nil, "", err
	}
	if err := checkMismatchClaims(ref, m, vcs); err != nil {
		return m, nil, "", err
	}
	return m, vcs, checkpointStatus(cp, verified), nil
}

func checkMismatchClaims(ref mismatchRef, m report.Mismatch, vcs []client.VerifiedClaim) error {
	if ref.id != "" && m.ID != ref.id || ref.id == "" && m.Claim != ref.claim {
		return fmt.Errorf("the log answered with mismatch %s, created by claim %d", m.ID, m.Claim)
	}
	if len(m.Digests) < 2 {
		return fmt.Errorf("%d digests: not a mismatch", len(m.Digests))
	}
	byIndex := map[int64]*record.Record{}
	for _, vc := range vcs {
		byIndex[vc.Index] = claimRecord(vc)
	}
	id := claim.Identity{Source: m.Source, Commit: m.Commit, Platform: m.Platform, Artifact: m.Artifact}
	for _, d := range m.Digests {
		if h, err := claim.NormaliseDigest(d.SHA256); err != nil || h != d.SHA256 {
			return fmt.Errorf("digest %q is not 64 lowercase hex digits", d.SHA256)
		}
		for _, i := range d.ClaimIndexes {
			r, ok := byIndex[i]
			if !ok || r == nil {
				return fmt.Errorf("claim %d is listed but not proven", i)
			}
			// The claim's signed identities (v1 or v2, git or deb:)
			// must include the build, with this digest.
			ids, subjects := r.Identities(), r.IdentitySubjects()
			k := slices.Index(ids, id)
			if k < 0 || r.Subjects[subjects[k]].SHA256 != d.SHA256 {
				return fmt.Errorf("claim %d does not claim %s for %s@%s %s %s", i, d.SHA256, m.Source, m.Commit, m.Platform, m.Artifact)
			}
		}
	}
	return nil
}

// claimRecord returns what a verified claim says: its record, or for one
// made from a v1 statement alone, the record of that statement.
func claimRecord(vc client.VerifiedClaim) *record.Record {
	if vc.Record != nil || vc.Claim == nil {
		return vc.Record
	}
	c := vc.Claim
	r := &record.Record{Version: 1, Kind: record.KindV1, Source: c.Source, Commit: c.Commit, Recipe: c.Recipe}
	for _, s := range c.Subjects {
		r.Subjects = append(r.Subjects, record.Subject{Name: s.Name, SHA256: s.SHA256, Platform: c.Platform})
	}
	return r
}

// proofJSON is a claim's inclusion proof as evidence pull writes it, against
// the checkpoint beside it; []byte fields are standard base64.
type proofJSON struct {
	Index          int64    `json:"index"`
	TreeSize       int64    `json:"tree_size"`
	InclusionProof [][]byte `json:"inclusion_proof"`
}

// writeEvidence writes dir/mismatch.json, dir/checkpoint and each claim's
// entry and proof in dir/claims.
func writeEvidence(dir string, m report.Mismatch, checkpoint []byte, vcs []client.VerifiedClaim) error {
	if err := os.MkdirAll(filepath.Join(dir, "claims"), 0o755); err != nil {
		return err
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{"mismatch.json": append(mj, '\n'), "checkpoint": checkpoint}
	for _, vc := range vcs {
		pj, err := json.MarshalIndent(proofJSON{Index: vc.Index, TreeSize: vc.TreeSize, InclusionProof: vc.Proof}, "", "  ")
		if err != nil {
			return err
		}
		files[filepath.Join("claims", fmt.Sprintf("%d.entry", vc.Index))] = vc.Entry
		files[filepath.Join("claims", fmt.Sprintf("%d.proof.json", vc.Index))] = append(pj, '\n')
	}
	for name, b := range files {
		if err := writeFileAtomic(filepath.Join(dir, name), b, 0o644, true); err != nil {
			return err
		}
	}
	return nil
}

// pullArtifacts downloads every digest of m that the archive holds into
// dir/artifacts/<sha256>/<artifact>, and reports the others. It goes on
// past an artifact that fails to download, says so on stderr, and returns
// the paths written with an error naming every failed digest.
func (lc *logClient) pullArtifacts(ctx context.Context, dir string, m report.Mismatch, stdout, stderr io.Writer) ([]string, error) {
	if filepath.Base(m.Artifact) != m.Artifact || m.Artifact == "." || m.Artifact == ".." {
		return nil, fmt.Errorf("artifact name %q is not a file name", m.Artifact) // checked by claim.ParseStatement too
	}
	var paths, failed []string
	for _, d := range m.Digests {
		dst := filepath.Join(dir, "artifacts", d.SHA256, m.Artifact)
		n, err := lc.download(ctx, d.SHA256, dst, stderr)
		if errors.Is(err, errNotArchived) {
			fmt.Fprintf(stdout, "not in the archive: sha256 %s\n", report.TermSafe(d.SHA256))
			continue
		} else if err != nil {
			if ctx.Err() != nil {
				return paths, fmt.Errorf("downloading sha256 %s: %w", d.SHA256, err)
			}
			fmt.Fprintf(stderr, "attestlog: could not pull sha256 %s (kept nothing of it): %s\n", report.TermSafe(d.SHA256), report.TermSafeText(describeDownloadError(err)))
			failed = append(failed, d.SHA256)
			continue
		}
		fmt.Fprintf(stdout, "downloaded %s (%d bytes, sha256 verified)\n", report.TermSafe(dst), n)
		paths = append(paths, dst)
	}
	if len(failed) > 0 {
		return paths, fmt.Errorf("%d of %d artifacts could not be pulled: sha256 %s", len(failed), len(m.Digests), strings.Join(failed, ", "))
	}
	return paths, nil
}

// describeDownloadError explains the gRPC status of a failed download.
func describeDownloadError(err error) string {
	if status.Code(err) == codes.DataLoss {
		return fmt.Sprintf("the log's archived copy is damaged (%v); its operator can repair it by uploading the right bytes again", err)
	}
	return err.Error()
}

// download streams an artifact into dst, verifying its digest; on any
// failure it leaves nothing at dst. It shows its progress on stderr if that
// is a terminal.
func (lc *logClient) download(ctx context.Context, digest, dst string, stderr io.Writer) (n int64, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := lc.GetArtifact(ctx, &pb.GetArtifactRequest{Sha256: digest})
	if err != nil {
		return 0, err
	}
	first, err := st.Recv()
	if status.Code(err) == codes.NotFound {
		return 0, errNotArchived
	} else if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp*")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	bar := progress.New(stderr, "downloading", filepath.Base(dst), int64(min(first.GetSize(), math.MaxInt64)))
	n, err = receiveArtifact(st, first, io.MultiWriter(f, h, &progress.Writer{Bar: bar}))
	bar.Clear()
	if err != nil {
		return 0, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return 0, fmt.Errorf("the log sent bytes with sha256 %s; deleted them", got)
	}
	if err = f.Close(); err == nil {
		err = os.Rename(f.Name(), dst)
	}
	return n, err
}

// receiveArtifact writes the chunks of a GetArtifact stream, starting with
// first, to w and checks the size the first message announced.
func receiveArtifact(st pb.LogService_GetArtifactClient, first *pb.GetArtifactResponse, w io.Writer) (int64, error) {
	want, err := toInt64("size", first.GetSize())
	if err != nil {
		return 0, err
	}
	var n int64
	for m := first; ; {
		k, err := w.Write(m.GetChunk())
		if n += int64(k); err != nil {
			return n, err
		}
		if n > want {
			return n, fmt.Errorf("the log sent more than the %d bytes it announced", want)
		}
		if m, err = st.Recv(); err == io.EOF {
			break
		} else if err != nil {
			return n, err
		}
	}
	if n != want {
		return n, fmt.Errorf("the log sent %d bytes, announced %d", n, want)
	}
	return n, nil
}

// diffBinaries compares two binaries: with diffoscope if it is in PATH,
// streaming its report, else by size and first differing byte.
func diffBinaries(ctx context.Context, a, b string, stdout, stderr io.Writer) error {
	if err := bindiff.Diffoscope(ctx, a, b, stdout, stderr); !errors.Is(err, bindiff.ErrNoDiffoscope) {
		return err
	}
	c, err := bindiff.CompareFiles(a, b)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, c.Describe(report.TermSafe(a), report.TermSafe(b)))
	return nil
}
