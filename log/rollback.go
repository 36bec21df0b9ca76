package log

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/attestlog/attestlog/tiles"
	"github.com/attestlog/attestlog/witness"
	"golang.org/x/mod/sumdb/note"
)

// A log whose store was restored from a backup, or replaced by another
// copy, holds an older tree than the one it signed and its witnesses
// cosigned. Left alone it would publish a smaller checkpoint than its
// witnesses vouch for and sign a fork at the first append. The witnesses
// are the only ones who remember, so the log listens to them:
//
//   - After every start with a witness policy, the first round of
//     cosignature requests (for the stored latest checkpoint, even if it
//     was witnessed before the stop) gates the log: until each witness has
//     answered or its request has timed out, [Log.Status] is
//     [ErrUnconfirmed], /checkpoint and GetCheckpoint answer 503 or
//     Unavailable, and Run sequences nothing, so no append is
//     acknowledged. If no witness answers, the log goes on with a warning,
//     publishing the stored witnessed checkpoint. Without a restart nothing
//     waits: the gate is passed once per process.
//   - A witness that answers 409 with a size larger than the tree, or 422
//     (the checkpoint is inconsistent with what it cosigned), is asked for
//     its latest cosigned checkpoint (GET <url>/<hex sha256 origin>/checkpoint,
//     c2sp.org/tlog-witness). If that carries this log's valid signature and
//     is larger than the tree, or of a size the tree holds with another
//     root, it proves the store rolled back or forked. If it does not (not
//     signed by this log, or a prefix of the tree), the witness is lying:
//     the log logs an ERROR about the witness, does not cosign with it, and
//     goes on, so that one hostile witness cannot stop a log. If the
//     witness serves no checkpoint at all, the log fails safe and treats
//     the refusal as proof.
//   - Once rolled back ([*RolledBackError]), the log refuses appends,
//     publishes no checkpoint, fails /healthz and logs one ERROR saying
//     what the operator must do. It keeps serving tiles, proofs and
//     lookups. It sends witnesses nothing more: no new checkpoint can arise
//     and the refused one must not be sent again. The state lasts until the
//     process stops; the operator restores the data directory the
//     witnesses saw and restarts.

// Status reports whether the log publishes checkpoints and accepts
// appends: nil when it does, an error wrapping [ErrUnconfirmed] while the
// first witness round after a start is under way, or a [*RolledBackError]
// once a witness has shown the store to be rolled back. A log without a
// witness policy always reports nil.
func (l *Log) Status() error {
	if rb := l.rolledBack.Load(); rb != nil {
		return rb
	}
	if w := l.witnessing; w != nil {
		select {
		case <-w.confirmed:
		default:
			return ErrUnconfirmed
		}
	}
	return nil
}

// judgeRefusal decides what a witness's refusal of cp means: a 409 naming
// claimed, a size larger than cp's, or a 422 (claimed 0). It fetches the
// witness's latest cosigned checkpoint and enters the rolled-back state if
// that proves the store older than what the witness cosigned, or if the
// witness serves none; otherwise it reports the witness as lying.
func (l *Log) judgeRefusal(ctx context.Context, p *witnessPeer, cp *Signed, claimed int64) {
	msg, err := l.witnessCheckpoint(ctx, p)
	if err != nil {
		l.rollBack(ctx, &RolledBackError{Witness: p.w.Name, WitnessSize: claimed, TreeSize: cp.Size, Inconsistent: claimed == 0}, err)
		return
	}
	wc, err := l.openOwn(msg)
	if err != nil {
		l.witnessLied(ctx, p, cp, claimed, fmt.Sprintf("it serves a checkpoint this log did not sign: %v", err))
		return
	}
	// Judge against the tree as it is now, not as it was when cp was
	// signed: a round retried after the log grew may carry an older
	// checkpoint than the log holds.
	size := cp.Size
	if latest := l.Checkpoint(); latest != nil && latest.Size > size {
		size = latest.Size
	}
	if wc.Size > size {
		if ahead, err := l.storeAhead(wc); ahead || err != nil {
			// Another frontend of a shared store was cosigned first: publish
			// what it stored, if this frontend already follows that far.
			if err == nil {
				err = l.adoptWitnessed()
			}
			if err != nil {
				l.log.ErrorContext(ctx, "reading the store to check a witness's checkpoint", slog.String("witness", p.w.Name), slog.Any("err", err))
			}
			return
		}
		l.rollBack(ctx, &RolledBackError{Witness: p.w.Name, WitnessSize: wc.Size, TreeSize: size, Checkpoint: msg}, nil)
		return
	}
	root, err := l.TreeHash(wc.Size)
	if err != nil {
		l.log.ErrorContext(ctx, "hashing the tree to check a witness's checkpoint", slog.String("witness", p.w.Name), slog.Any("err", err))
		return
	}
	if root != wc.Hash {
		l.rollBack(ctx, &RolledBackError{Witness: p.w.Name, WitnessSize: wc.Size, TreeSize: size, Inconsistent: true, Checkpoint: msg}, nil)
		return
	}
	if wc.Size > cp.Size {
		// The witness cosigned a later checkpoint of this very tree: cp
		// was stale, and the next round sends the latest.
		l.log.DebugContext(ctx, "a witness refused an older checkpoint than it cosigned", slog.String("witness", p.w.Name), slog.Int64("sent", cp.Size), slog.Int64("cosigned", wc.Size))
		return
	}
	l.witnessLied(ctx, p, cp, claimed, fmt.Sprintf("its latest cosigned checkpoint, of tree size %d, is a prefix of this log's tree", wc.Size))
}

// witnessCheckpoint fetches a witness's latest cosigned checkpoint for
// this log from its monitoring endpoint. Any failure, a 404 included,
// means the witness serves none that the log can check.
func (l *Log) witnessCheckpoint(ctx context.Context, p *witnessPeer) ([]byte, error) {
	h := sha256.Sum256([]byte(l.cfg.Origin))
	url := strings.TrimSuffix(p.w.URL, "/") + "/" + hex.EncodeToString(h[:]) + "/checkpoint"
	ctx, cancel := context.WithTimeout(ctx, witnessTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("asking witness %s for its checkpoint: %w", p.w.Name, err)
	}
	hc := l.cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking witness %s for its checkpoint: %w", p.w.Name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, witness.MaxRequestSize))
	if err != nil {
		return nil, fmt.Errorf("reading witness %s's checkpoint: %w", p.w.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("witness %s serves no checkpoint at %s: %s", p.w.Name, url, resp.Status)
	}
	return b, nil
}

// openOwn verifies that msg carries this log's signature and parses its body.
func (l *Log) openOwn(msg []byte) (tiles.Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(l.witnessing.self))
	if err != nil {
		return tiles.Checkpoint{}, err
	}
	cp, err := tiles.ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return tiles.Checkpoint{}, err
	}
	if cp.Origin != l.cfg.Origin {
		return tiles.Checkpoint{}, fmt.Errorf("origin %q, want %q", cp.Origin, l.cfg.Origin)
	}
	return cp, nil
}

// rollBack enters the rolled-back state, logging the one ERROR that tells
// the operator what to do; later proofs are logged at INFO. why is the
// reason a refusal is taken as proof without a checkpoint, if so.
func (l *Log) rollBack(ctx context.Context, rb *RolledBackError, why error) {
	attrs := []any{slog.String("witness", rb.Witness), slog.Int64("witness_size", rb.WitnessSize),
		slog.Int64("tree_size", rb.TreeSize), slog.String("witness_checkpoint", string(rb.Checkpoint))}
	if why != nil {
		attrs = append(attrs, slog.Any("err", why))
	}
	if !l.rolledBack.CompareAndSwap(nil, rb) {
		l.log.InfoContext(ctx, "another witness confirms that the store is rolled back", attrs...)
		return
	}
	l.witnessing.metrics.rolledBack.Set(1)
	l.log.ErrorContext(ctx, "the log's store is rolled back or forked: a witness has cosigned a tree it does not hold. "+
		"Appends are refused and no checkpoint is published until the operator stops the log, restores the newest backup of the data directory "+
		"(the one the witnesses saw) and restarts it. Never delete witness state to get past this.", attrs...)
}

// witnessLied logs, once per claimed size, that a witness refused cp with
// a claim it cannot back, and remembers not to send it cp again.
func (l *Log) witnessLied(ctx context.Context, p *witnessPeer, cp *Signed, claimed int64, why string) {
	id := idOf(cp)
	p.refused = &id
	if p.lie == claimed {
		return
	}
	p.lie = claimed
	l.log.ErrorContext(ctx, "witness refused a checkpoint with a claim it cannot prove; ignoring that witness's refusal: check the witness and its operator",
		slog.String("witness", p.w.Name), slog.Int64("claimed_size", claimed), slog.Int64("tree_size", cp.Size), slog.String("reason", why))
}

// selfVerifier returns the verifier of the log's own key from the policy.
func selfVerifier(cfg Config) (note.Verifier, error) {
	for _, pl := range cfg.Witnesses.Logs {
		if pl.Verifier.Name() == cfg.Origin && pl.Verifier.KeyHash() == cfg.Signer.KeyHash() {
			return pl.Verifier, nil
		}
	}
	return nil, errors.New("log: config: the witness policy has no log line with this log's key (origin " + cfg.Origin +
		"); add \"log <this log's vkey>\" so the log can check the checkpoints its witnesses serve")
}
