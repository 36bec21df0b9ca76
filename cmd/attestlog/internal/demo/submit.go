package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
)

// submit is step 3: every builder attests and submits; between the trusted
// builders and the mirror, the operator copies the log's data.
func (d *demo) submit(ctx context.Context) error {
	for _, b := range d.builders {
		if err := d.attest(ctx, b, b.bin, b.claimFile()); err != nil {
			return err
		}
	}
	d.say("Each builder signed a build claim with attestlog attest (source %s, commit %s, recipe: the sha256 of go.mod, platform %s/%s, artifact hello and its sha256) and sent it with its binary with attestlog submit:",
		source, d.commit[:12], runtime.GOOS, runtime.GOARCH)
	for _, b := range d.builders[:4] {
		if err := d.submitClaim(ctx, b, b.claimFile(), true); err != nil {
			return err
		}
		d.sayLogged(b)
	}
	if err := d.waitWitnessed(ctx, 4); err != nil {
		return err
	}
	if err := d.snapshotLog(ctx); err != nil {
		return err
	}
	if err := d.submitClaim(ctx, d.mirror(), d.mirror().claimFile(), true); err != nil {
		return err
	}
	d.sayLogged(d.mirror())
	if err := d.checkMismatch(ctx); err != nil {
		return err
	}
	return d.waitWitnessed(ctx, 5)
}

// claimFile is where b's claim about its binary goes.
func (b *builder) claimFile() string { return filepath.Join(b.home, "hello.claim.json") }

func (d *demo) sayLogged(b *builder) {
	fmt.Fprintf(d.out, "     %-12s logged at index %d, receipt verified, binary uploaded\n", b.name, b.index)
}

// snapshotLog stops the log, copies its data for step 6 and restarts it.
func (d *demo) snapshotLog(ctx context.Context) error {
	if err := d.stopLog(); err != nil {
		return err
	}
	d.snapshot = filepath.Join(d.dir, "log-backup")
	if err := copyDir(d.logData, d.snapshot); err != nil {
		return err
	}
	if err := d.startLog(ctx); err != nil {
		return err
	}
	d.say("(Here the log's operator quietly stopped the log, copied its data directory and restarted it; step 6 uses the copy.)")
	return nil
}

// attest signs builder b's claim about bin with attestlog attest, into
// the file out.
func (d *demo) attest(ctx context.Context, b *builder, bin, out string) error {
	_, err := d.attestlog(ctx, "attest", "--key", b.key, "--recipe", filepath.Join(b.src(), "go.mod"),
		"--dir", b.src(), "--source", source, "--commit", d.commit, "--ref", "", "-o", out, bin)
	return err
}

// submitClaim submits b's claim in the file path, with its binary if
// upload, with attestlog submit, and reads the index from the receipt.
func (d *demo) submitClaim(ctx context.Context, b *builder, path string, upload bool) error {
	args := []string{"submit", "--log", d.logGRPC, "--log-vkey", d.logVKey}
	if upload {
		args = append(args, "--artifact", b.bin)
	}
	if _, err := d.attestlog(ctx, append(args, path)...); err != nil {
		return err
	}
	data, err := os.ReadFile(path + ".receipt.json")
	if err != nil {
		return err
	}
	// submit verified the receipt; the demo needs only its index.
	var r struct {
		Index int64 `json:"index"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("reading %s's receipt: %w", b.name, err)
	}
	b.index = r.Index
	return nil
}

// checkMismatch checks that the log flagged the mirror's claim as a
// mismatch, keeping both binaries, and says so.
func (d *demo) checkMismatch(ctx context.Context) error {
	resp, err := pb.NewLogServiceClient(d.conn).ListMismatches(ctx, &pb.ListMismatchesRequest{})
	if err != nil {
		return fmt.Errorf("listing mismatches: %w", err)
	}
	var m *pb.Mismatch
	for _, x := range resp.GetMismatches() {
		if int64(x.GetId()) == d.mirror().index {
			m = x
		}
	}
	if m == nil || len(m.GetDigests()) != 2 {
		return fmt.Errorf("the log flagged no mismatch with two digests at the mirror's claim %d", d.mirror().index)
	}
	for _, md := range m.GetDigests() {
		if !md.GetArchived() {
			return fmt.Errorf("mismatch %d: the archive lacks the binary with sha256 %s", m.GetId(), md.GetSha256())
		}
	}
	d.mismatchID = int64(m.GetId())
	d.say("The log flagged mismatch %d the moment the mirror's claim arrived: for one build (%s at %s, %s, artifact %s) %s sha256 %s and %s %s. It pinned both binaries in its archive, where no API can delete them.",
		m.GetId(), m.GetSourceUri(), short(m.GetCommit()), m.GetPlatform(), m.GetArtifact(),
		claimList(m.GetDigests()[0].GetClaimIndexes()), short(m.GetDigests()[0].GetSha256()),
		claimList(m.GetDigests()[1].GetClaimIndexes()), short(m.GetDigests()[1].GetSha256()))
	return nil
}
