package witness

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A Witness cosigns checkpoints of the logs it trusts, keeping its state in a
// bbolt file. It is safe for concurrent use; see the package documentation.
type Witness struct {
	db       *bolt.DB
	cosigner *cosigner
	logs     map[string]*logConfig // by origin; read-only after Open
	byHash   map[string]string     // lowercase hex SHA-256 of origin -> origin; read-only
	metrics  *metrics
	log      *slog.Logger
	now      func() time.Time
}

// Open opens the witness whose state is the bbolt file at path, creating the
// file if needed. It fails if another process has the file open. The caller
// must Close the witness.
func Open(path string, c Config) (*Witness, error) {
	c, logs, err := c.validate()
	if err != nil {
		return nil, err
	}
	cs, err := newCosigner(c.Key)
	if err != nil {
		return nil, err
	}
	db, err := openState(path)
	if err != nil {
		return nil, err
	}
	w := &Witness{
		db:       db,
		cosigner: cs,
		logs:     logs,
		byHash:   make(map[string]string, len(logs)),
		log:      c.Logger,
		now:      c.Now,
	}
	var origins []string
	for _, l := range c.Logs {
		h := sha256.Sum256([]byte(l.Origin))
		w.byHash[hex.EncodeToString(h[:])] = l.Origin
		origins = append(origins, l.Origin)
	}
	w.metrics = newMetrics(origins)
	return w, nil
}

// Close closes the bbolt file. Requests in flight fail.
func (w *Witness) Close() error { return w.db.Close() }

// Name returns the witness's name, the name of its key.
func (w *Witness) Name() string { return w.cosigner.name }

// VerifierKey returns the witness's c2sp.org/tlog-cosignature verifier key,
// type 0x04:
//
//	<name>+<key ID, 8 hex digits>+<base64(0x04 || 32-byte Ed25519 public key)>
//
// Clients verify cosignatures with it, for example with
// github.com/transparency-dev/formats/note.NewVerifierForCosignatureV1.
func (w *Witness) VerifierKey() string { return w.cosigner.vkey }

// AddCheckpoint handles a c2sp.org/tlog-witness add-checkpoint request body.
// If the checkpoint is consistent with the latest one the witness cosigned for
// its origin, AddCheckpoint stores it durably and returns the witness's
// cosignature line ("— <name> <base64>\n"). Otherwise it returns an *[Error]
// whose Status is, for the first failing check in this order:
//
//	400  body malformed or larger than MaxRequestSize, or more than MaxProofLines proof lines
//	404  origin unknown
//	403  no valid signature by a trusted key of the log, or an invalid one
//	429  the log's budget is spent; only requests that got this far count against it
//	400  old size larger than the checkpoint's size
//	409  old size is not the size of the latest cosigned checkpoint (0 if none); Error.Size is that size
//	422  size 0 with a root other than the empty tree's hash
//	422  old size 0 with a non-empty proof
//	422  old size equal to the checkpoint's size but a different root (a fork)
//	422  consistency proof does not verify
//
// A checkpoint refused with 422 other than for a non-empty proof at old
// size 0 is kept as [Evidence]. Any other error is internal.
func (w *Witness) AddCheckpoint(ctx context.Context, body []byte) ([]byte, error) {
	_, cosig, err := w.addCheckpoint(ctx, body)
	return cosig, err
}

// addCheckpoint is AddCheckpoint, and also returns the checkpoint's origin if
// it is one the witness trusts, for metrics.
func (w *Witness) addCheckpoint(ctx context.Context, body []byte) (origin string, cosig []byte, err error) {
	if len(body) > MaxRequestSize {
		return "", nil, refuse(http.StatusBadRequest, "request body larger than %d bytes", MaxRequestSize)
	}
	req, err := parseRequest(body)
	if err != nil {
		return "", nil, &Error{Status: http.StatusBadRequest, Msg: err.Error(), Err: err}
	}
	l, ok := w.logs[req.checkpoint.Origin]
	if !ok {
		return "", nil, refuse(http.StatusNotFound, "unknown origin %q", req.checkpoint.Origin)
	}
	n, err := note.Open(req.note, l.verifiers)
	if err != nil {
		return l.origin, nil, signatureError(l.origin, err)
	}
	if ok, retry := l.budget.take(w.now()); !ok {
		e := refuse(http.StatusTooManyRequests, "budget of %s spent; retry in %v", l.origin, retry.Round(time.Second))
		e.RetryAfter = retry
		return l.origin, nil, e
	}
	if req.old > req.checkpoint.Size {
		return l.origin, nil, refuse(http.StatusBadRequest, "old size %d larger than checkpoint size %d", req.old, req.checkpoint.Size)
	}
	cosig, err = w.commit(ctx, l, req, body, n)
	return l.origin, cosig, err
}

// signatureError returns the 403 for err, an error of note.Open with the
// verifiers of origin on a well-formed note.
func signatureError(origin string, err error) error {
	var invalid *note.InvalidSignatureError
	var unverified *note.UnverifiedNoteError
	switch {
	case errors.As(err, &invalid):
		return &Error{Status: http.StatusForbidden, Msg: fmt.Sprintf("signature by trusted key %s+%08x does not verify", invalid.Name, invalid.Hash), Err: err}
	case errors.As(err, &unverified):
		return &Error{Status: http.StatusForbidden, Msg: fmt.Sprintf("checkpoint has no signature by a trusted key of %s", origin), Err: err}
	}
	return fmt.Errorf("witness: verifying checkpoint of %s: %w", origin, err)
}

// commit checks req against the stored state of its log and, if it is
// consistent, cosigns its checkpoint and stores it, in one transaction that
// it shares with other requests. n is the opened checkpoint note.
func (w *Witness) commit(ctx context.Context, l *logConfig, req request, body []byte, n *note.Note) ([]byte, error) {
	received := w.now()
	var out outcome
	// bbolt runs this function again, alone, if another one in its batch
	// fails, so it must set out afresh and return an error only for a
	// storage failure, never for a refusal.
	err := w.db.Batch(func(tx *bolt.Tx) error {
		var err error
		out, err = w.decide(tx, l, req, body, n, received)
		return err
	})
	cp := req.checkpoint
	switch {
	case err != nil:
		return nil, fmt.Errorf("witness: storing checkpoint of %s: %w", l.origin, err)
	case out.evidence != nil:
		w.metrics.evidence.WithLabelValues(l.origin).Inc()
		w.log.ErrorContext(ctx, "kept evidence of an inconsistent checkpoint",
			slog.String("origin", l.origin), slog.Uint64("evidence_id", out.evidence.ID),
			slog.String("reason", out.evidence.Reason), slog.Int64("old_size", req.old), slog.Int64("tree_size", cp.Size))
		return nil, out.refusal
	case out.refusal != nil:
		return nil, out.refusal
	}
	w.metrics.cosignatures.WithLabelValues(l.origin).Inc()
	w.log.DebugContext(ctx, "cosigned checkpoint", slog.String("origin", l.origin), slog.Int64("tree_size", cp.Size))
	return out.cosig, nil
}

// An outcome is what the transaction of an add-checkpoint request decided:
// a refusal, possibly with evidence, or a cosignature.
type outcome struct {
	refusal  *Error
	evidence *Evidence // stored, with its ID set
	cosig    []byte
}

// decide runs in tx: it compares req.old with the stored size of its log,
// checks consistency against the stored root, and either stores evidence or
// cosigns and stores the new checkpoint with its timestamp. It returns an
// error only if storage fails; everything it did is then rolled back.
func (w *Witness) decide(tx *bolt.Tx, l *logConfig, req request, body []byte, n *note.Note, received time.Time) (outcome, error) {
	st, err := getLogState(tx, l.origin)
	if err != nil {
		return outcome{}, err
	}
	if req.old != st.size {
		return outcome{refusal: conflict(req.old, st.size)}, nil
	}
	if msg, keep := checkConsistency(st, req); msg != "" {
		out := outcome{refusal: refuse(http.StatusUnprocessableEntity, "%s", msg)}
		if keep {
			out.evidence = &Evidence{Origin: l.origin, Reason: msg, Time: received, Request: string(body), Latest: string(st.note)}
			out.evidence.ID, err = putEvidence(tx, *out.evidence)
		}
		return out, err
	}
	last, err := getTimestamp(tx)
	if err != nil {
		return outcome{}, err
	}
	ts := nextTimestamp(last, w.now())
	cosig := w.cosigner.cosign(ts, []byte(n.Text))
	st = logState{size: req.checkpoint.Size, root: req.checkpoint.Hash, note: cosignedNote(n, cosig)}
	if err := putLogState(tx, l.origin, st); err != nil {
		return outcome{}, err
	}
	if err := putTimestamp(tx, ts); err != nil {
		return outcome{}, err
	}
	return outcome{cosig: cosig}, nil
}

// emptyRoot is the RFC 6962 root hash of the empty tree, SHA-256("").
var emptyRoot = tlog.Hash(sha256.Sum256(nil))

// checkConsistency returns what is wrong with req's checkpoint given the
// state st whose size is req.old, or "" if nothing is; keep reports whether
// the failure is evidence against the log rather than a client's mistake.
// The checks and messages follow c2sp.org/tlog-witness's 422 rules.
func checkConsistency(st logState, req request) (msg string, keep bool) {
	cp := req.checkpoint
	switch {
	case cp.Size == 0 && cp.Hash != emptyRoot:
		return fmt.Sprintf("checkpoint of size 0 has root %s, not the empty tree's %s", b64(cp.Hash), b64(emptyRoot)), true
	case req.old == 0 && len(req.proof) > 0:
		return fmt.Sprintf("old size 0 needs an empty consistency proof, got %d lines", len(req.proof)), false
	case req.old == 0:
		return "", false
	case req.old == cp.Size && cp.Hash != st.root:
		return fmt.Sprintf("checkpoint of size %d has root %s, but the witness cosigned root %s at that size", cp.Size, b64(cp.Hash), b64(st.root)), true
	case req.old == cp.Size && len(req.proof) > 0:
		return fmt.Sprintf("old size equals checkpoint size %d, so the consistency proof must be empty, got %d lines", cp.Size, len(req.proof)), false
	}
	p := make([][]byte, len(req.proof))
	for i := range req.proof {
		p[i] = req.proof[i][:]
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(req.old), uint64(cp.Size), p, st.root[:], cp.Hash[:]); err != nil {
		return fmt.Sprintf("consistency proof from size %d to %d does not verify", req.old, cp.Size), true
	}
	return "", false
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// cosignedNote returns the checkpoint note the witness serves to monitors:
// n's text, the log signatures the witness verified, and its cosignature.
// Signatures by keys it does not know are left out.
func cosignedNote(n *note.Note, cosig []byte) []byte {
	b := append([]byte(n.Text), '\n')
	for _, s := range n.Sigs {
		b = fmt.Appendf(b, "— %s %s\n", s.Name, s.Base64)
	}
	return append(b, cosig...)
}

// Checkpoint returns the latest checkpoint the witness cosigned for origin,
// with the log's signatures it verified and its own cosignature, or an error
// wrapping [ErrNotFound] if it has cosigned none.
func (w *Witness) Checkpoint(origin string) ([]byte, error) {
	var st logState
	err := w.db.View(func(tx *bolt.Tx) error {
		var err error
		st, err = getLogState(tx, origin)
		return err
	})
	if err != nil {
		return nil, err
	}
	if st.note == nil {
		return nil, fmt.Errorf("checkpoint of %s: %w", origin, ErrNotFound)
	}
	return st.note, nil
}
