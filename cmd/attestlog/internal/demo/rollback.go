package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/grpcsource"
	"github.com/attestlog/attestlog/tiles"
	"github.com/attestlog/attestlog/witness"
)

// rollback is step 6: the log restored from the copy of step 3 stops
// itself; forced to fork, it is caught by the witnesses and the client.
func (d *demo) rollback(ctx context.Context) error {
	if err := d.restoreSnapshot(ctx); err != nil {
		return err
	}
	// To hide the rewind, the operator appends another claim in the
	// mirror's place: the mirror now claims the honest digest.
	m := d.mirror()
	cover := filepath.Join(m.home, "cover-up.claim.json")
	if err := d.attest(ctx, m, d.builders[0].bin, cover); err != nil {
		return err
	}
	refusal, health, err := d.logStopsItself(ctx, m, cover)
	if err != nil {
		return err
	}
	d.say("The log was stopped, its data directory replaced by the copy from before the mirror's claim (tree size %d), and restarted. Before acknowledging anything, the restarted log asked its witnesses to confirm its checkpoint: they had cosigned tree size %d, and served that checkpoint, signed by the log's own key. So the log stopped itself. Asked to log a cover-up claim in the mirror's place (the mirror now claiming the honest digest), it refused:",
		m.index, d.remembered.Size)
	fmt.Fprintf(d.out, "     %s\n", refusal)
	d.say("Its /checkpoint publishes nothing and its /healthz answers 503 (%q) until the operator restores the data directory the witnesses saw; its entries and tiles are still served.", health)
	forkNote, err := d.forceFork(ctx, m, cover)
	if err != nil {
		return err
	}
	if err := d.witnessesRefuse(ctx, forkNote); err != nil {
		return err
	}
	return d.clientDetects(ctx, forkNote)
}

// restoreSnapshot stops the log, replaces its data with the copy of step 3
// and starts it again.
func (d *demo) restoreSnapshot(ctx context.Context) error {
	if err := d.stopLog(); err != nil {
		return err
	}
	if err := os.RemoveAll(d.logData); err != nil {
		return err
	}
	if err := copyDir(d.snapshot, d.logData); err != nil {
		return err
	}
	return d.startLog(ctx)
}

// logStopsItself checks that the restored log refuses the claim in the
// file cover and fails /healthz, and returns both messages.
func (d *demo) logStopsItself(ctx context.Context, b *builder, cover string) (refusal, health string, err error) {
	err = d.submitClaim(ctx, b, cover, false)
	if err == nil {
		return "", "", errors.New("the restored log accepted a claim at the index its witnesses saw another at")
	}
	if refusal = rollbackRefusal(err); refusal == "" {
		return "", "", fmt.Errorf("the restored log refused the claim for another reason: %w", err)
	}
	if health, err = d.checkStopped(ctx, b); err != nil {
		return "", "", err
	}
	return refusal, health, nil
}

// rollbackRefusal returns the line of submit's error that says the store
// was rolled back, shortened to its first sentence, or "".
func rollbackRefusal(err error) string {
	var refusal string
	for _, l := range strings.Split(err.Error(), "\n") {
		if _, msg, ok := strings.Cut(l, "log: store rolled back"); ok {
			refusal = "log: store rolled back" + msg
		}
	}
	if i := strings.Index(refusal, "; appends are refused"); i > 0 {
		refusal = refusal[:i] + "."
	}
	return refusal
}

// checkStopped checks that the stopped log answers 503 on /healthz and
// /checkpoint but still serves b's entry, and returns /healthz's message.
func (d *demo) checkStopped(ctx context.Context, b *builder) (health string, err error) {
	code, body, err := getStatus(ctx, "http://"+d.logHTTP+"/healthz")
	if err != nil {
		return "", err
	}
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "rolled back") {
		return "", fmt.Errorf("the restored log's /healthz: %d %q, want 503", code, body)
	}
	if code, _, err := getStatus(ctx, "http://"+d.logHTTP+"/checkpoint"); err != nil || code != http.StatusServiceUnavailable {
		return "", fmt.Errorf("the restored log's /checkpoint: %d (%v), want 503", code, err)
	}
	if code, _, err := getStatus(ctx, fmt.Sprintf("http://%s/tile/entries/000.p/%d", d.logHTTP, b.index)); err != nil || code != http.StatusOK {
		return "", fmt.Errorf("the restored log's entries: %d (%v), want 200", code, err)
	}
	if i := strings.Index(body, ": witness"); i > 0 {
		body = body[:i]
	}
	return strings.TrimSpace(body), nil
}

// forceFork restarts the log without its witness policy, so that it asks no
// one, appends b's claim in the file cover, and returns the signed note of
// the forked checkpoint.
func (d *demo) forceFork(ctx context.Context, b *builder, cover string) ([]byte, error) {
	if err := d.stopLog(); err != nil {
		return nil, err
	}
	d.forced = true
	if err := d.startLog(ctx); err != nil {
		return nil, err
	}
	if err := d.submitClaim(ctx, b, cover, false); err != nil {
		return nil, err
	}
	fork, forkNote, err := d.signedCheckpoint(ctx)
	if err != nil {
		return nil, err
	}
	if fork.Size != d.remembered.Size || fork.Hash == d.remembered.Hash {
		return nil, fmt.Errorf("the forced log signed tree size %d, root %x; want size %d with a root other than %x",
			fork.Size, fork.Hash, d.remembered.Size, d.remembered.Hash)
	}
	d.say("The operator forced it: restarted the log without its witness policy, so that it asks no one, and appended the cover-up claim at index %d. The log signed a checkpoint of tree size %d again, with another root hash: a fork.",
		b.index, fork.Size)
	return forkNote, nil
}

// witnessesRefuse asks every witness to cosign the forked checkpoint, as
// the operator would, and checks that each refuses it.
func (d *demo) witnessesRefuse(ctx context.Context, forkNote []byte) error {
	var reason string
	for _, w := range d.witnesses {
		var err error
		if reason, err = d.witnessRefuses(ctx, w, forkNote); err != nil {
			return err
		}
	}
	d.say("The operator asked the witnesses to cosign it anyway. The witnesses refused it: w1, w2 and w3 each answered 422, kept it as evidence (GET /evidence: %q) and still vouch only for the size-%d tree holding the mirror's claim. Without a quorum, no client that needs witnesses accepts the fork.",
		reason, d.remembered.Size)
	return nil
}

// witnessRefuses checks that w refuses the forked checkpoint with a 422,
// keeps it as evidence, whose reason it returns, and still serves the
// checkpoint the client remembers.
func (d *demo) witnessRefuses(ctx context.Context, w *witnessServer, forkNote []byte) (reason string, err error) {
	base := "http://" + w.addr
	wc := &witness.Client{URL: base + "/"}
	_, err = wc.AddCheckpoint(ctx, d.remembered.Size, nil, forkNote)
	var st *witness.StatusError
	if !errors.As(err, &st) || st.Code != http.StatusUnprocessableEntity {
		return "", fmt.Errorf("%s answered the forked checkpoint with %v, want a 422 refusal", w.name, err)
	}
	b, err := httpGet(ctx, base+"/evidence")
	if err != nil {
		return "", err
	}
	var list []struct{ Reason string }
	if err := json.Unmarshal(b, &list); err != nil {
		return "", fmt.Errorf("%s/evidence: %w", base, err)
	}
	if len(list) == 0 {
		return "", fmt.Errorf("%s kept no evidence of the fork", w.name)
	}
	if b, err = httpGet(ctx, base+"/"+originHashHex(origin)+"/checkpoint"); err != nil {
		return "", err
	}
	cp, err := client.OpenCheckpoint(b, d.policy.TLog.Logs[0].Verifier)
	if err != nil || cp.Size != d.remembered.Size || cp.Hash != d.remembered.Hash {
		return "", fmt.Errorf("%s's latest cosigned checkpoint is not the one the client remembers (size %d): %v", w.name, cp.Size, err)
	}
	return list[0].Reason, nil
}

// originHashHex is the lowercase hex SHA-256 of origin, which names a log
// in a witness's URLs.
func originHashHex(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return hex.EncodeToString(h[:])
}

// clientDetects shows the client the forked log's signed checkpoint, which
// its remembered state must reject with evidence, and verifies again.
func (d *demo) clientDetects(ctx context.Context, forkNote []byte) error {
	src := grpcsource.New(d.conn)
	ie, err := d.detectFork(ctx, src, forkNote)
	if err != nil {
		return err
	}
	d.say("The client remembers the size-%d checkpoint it verified in step 4. Shown the log's latest signed checkpoint, it found %s: two checkpoints signed by the log's own key that cannot both be true. It wrote the proof, both signed notes, to %s; anyone with the log's public key can check it (client.CheckEvidence).",
		d.remembered.Size, ie.Reason, ie.Evidence)
	v, err := client.Verify(ctx, d.policy, src, d.builders[0].digest, client.VerifyOptions{State: d.state})
	if err != nil {
		return err
	}
	if v.ExitCode()&client.ExitVerifyErr == 0 || v.QuorumMet {
		return fmt.Errorf("verify against the forked log: exit code %d, problems %v", v.ExitCode(), v.Problems)
	}
	d.say("Verifying even the honest binary against this log now fails, exit code %d (%s): the only checkpoint it can show is the fork, which no witness cosigned.",
		v.ExitCode(), exitMeaning(v.ExitCode()))
	return nil
}

// detectFork updates the client's state with the forked checkpoint, which
// must fail with an inconsistency whose evidence file holds.
func (d *demo) detectFork(ctx context.Context, src client.Source, forkNote []byte) (*client.InconsistencyError, error) {
	logOnly, err := tiles.ParsePolicy([]byte("log " + d.logVKey + "\nquorum none\n"))
	if err != nil {
		return nil, err
	}
	vc, err := logOnly.VerifyCheckpoint(forkNote)
	if err != nil {
		return nil, err
	}
	err = d.state.Update(ctx, vc, src)
	var ie *client.InconsistencyError
	if !errors.As(err, &ie) || ie.Evidence == "" {
		return nil, fmt.Errorf("the client accepted the forked checkpoint: %v", err)
	}
	b, err := os.ReadFile(ie.Evidence)
	if err != nil {
		return nil, err
	}
	if _, err := client.CheckEvidence(d.policy, b); err != nil {
		return nil, fmt.Errorf("the evidence file does not hold: %w", err)
	}
	return ie, nil
}
