package witness

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/attestlog/attestlog/tiles"
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

	maxEvidence int           // Config.MaxEvidence
	refresh     time.Duration // Config.RefreshInterval
	page        *template.Template
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

		maxEvidence: c.MaxEvidence,
		refresh:     c.RefreshInterval,
	}
	var origins []string
	for _, l := range c.Logs {
		h := sha256.Sum256([]byte(l.Origin))
		w.byHash[hex.EncodeToString(h[:])] = l.Origin
		origins = append(origins, l.Origin)
	}
	w.metrics = newMetrics(origins)
	if err := w.parsePage(); err != nil {
		db.Close()
		return nil, err
	}
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
//	400  old size larger than the checkpoint's size
//	409  old size is not the size of the latest cosigned checkpoint (0 if none); Error.Size is that size
//	422  size 0 with a root other than the empty tree's hash
//	422  old size 0 with a non-empty proof
//	422  old size equal to the checkpoint's size but a different root (a fork)
//	422  consistency proof does not verify
//	429  the log's budget is spent
//
// A replay of the latest cosigned checkpoint (old size and size both its size,
// the same checkpoint body) is answered with the stored cosignature, or, if
// that is older than Config.RefreshInterval, with a fresh one that replaces
// it. Only a request that gets a cosignature of a new checkpoint spends the
// log's budget: refusals and replays never do, so they cannot starve the log,
// and each keeps the status code above whatever the budget.
//
// A 422 is kept as [Evidence] if the signed checkpoint alone shows a fork:
// a size 0 with another root, another root at the cosigned size, or a
// consistency proof that leads to the checkpoint's root from a tree of the
// cosigned size with another root than the cosigned one. A proof that does
// not lead to the checkpoint's root shows nothing about the log and is not
// kept. Any other error is internal.
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
// consistent, cosigns its checkpoint and stores it. n is the opened
// checkpoint note.
func (w *Witness) commit(ctx context.Context, l *logConfig, req request, body []byte, n *note.Note) ([]byte, error) {
	received := w.now()
	var out outcome
	// Most refusals and every replay change nothing: they are decided in a
	// read-only transaction, which costs no fsync, so that a stranger's
	// requests cost little. Requests that write share a transaction with the
	// others in flight (bbolt's DB.Batch), and are decided again in it.
	err := w.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = w.decide(tx, l, req, body, n, received, nil)
		return err
	})
	if err == nil && out.write {
		spent := false
		// bbolt runs this function again, alone, if another one in its batch
		// fails, so it must set out afresh, spend the budget at most once,
		// and return an error only for a storage failure, never for a refusal.
		err = w.db.Batch(func(tx *bolt.Tx) error {
			var err error
			out, err = w.decide(tx, l, req, body, n, received, &spent)
			return err
		})
	}
	if err != nil {
		return nil, fmt.Errorf("witness: storing checkpoint of %s: %w", l.origin, err)
	}
	w.report(ctx, l, req, out, received)
	if out.refusal != nil {
		return nil, out.refusal
	}
	return out.cosig, nil
}

// report counts and logs what the transaction decided for req.
func (w *Witness) report(ctx context.Context, l *logConfig, req request, out outcome, now time.Time) {
	m, cp := w.metrics, req.checkpoint
	attrs := []any{slog.String("origin", l.origin), slog.Int64("old_size", req.old), slog.Int64("tree_size", cp.Size)}
	switch {
	case out.kept == keptNew:
		m.evidence.WithLabelValues(l.origin).Inc()
		w.log.ErrorContext(ctx, "kept evidence of an inconsistent checkpoint",
			append(attrs, slog.Uint64("evidence_id", out.evidence.ID), slog.String("reason", out.evidence.Reason))...)
	case out.kept == keptRepeat:
		m.repeats.WithLabelValues(l.origin).Inc()
		w.log.DebugContext(ctx, "checkpoint already kept as evidence",
			append(attrs, slog.Uint64("evidence_id", out.evidence.ID), slog.Int64("seen", out.evidence.Seen))...)
	case out.kept == keptDropped:
		m.dropped.WithLabelValues(l.origin).Inc()
		if warn, dropped := l.drops.drop(now); warn {
			w.log.WarnContext(ctx, "dropping evidence of an inconsistent checkpoint: the log has the most evidence records kept; the oldest are kept, see GET evidence",
				append(attrs, slog.Int("max_evidence", w.maxEvidence), slog.Int64("dropped", dropped))...)
		}
	case out.badProof:
		m.badProofs.WithLabelValues(l.origin).Inc()
		w.log.DebugContext(ctx, "refused a consistency proof that proves nothing", attrs...)
	case out.replay:
		m.replays.WithLabelValues(l.origin).Inc()
		w.log.DebugContext(ctx, "answered a replay with the stored cosignature", attrs...)
	case out.cosig != nil:
		m.cosignatures.WithLabelValues(l.origin).Inc()
		w.log.DebugContext(ctx, "cosigned checkpoint", append(attrs, slog.Bool("refresh", out.refresh))...)
	}
}

// An outcome is what the transaction of an add-checkpoint request decided:
// a refusal, possibly with evidence, or a cosignature.
type outcome struct {
	refusal  *Error
	write    bool      // decided in a read-only transaction: the request needs a writable one
	evidence *Evidence // with its ID and Seen set, unless kept is keptDropped
	kept     keep
	badProof bool   // refused for a proof that proves nothing
	cosig    []byte // the cosignature line
	replay   bool   // cosig is the stored one of the latest cosigned checkpoint
	refresh  bool   // cosig is a fresh one of the latest cosigned checkpoint
}

// A keep is what became of a refused checkpoint that is evidence.
type keep int

const (
	keptNone    keep = iota
	keptNew          // stored as a new record
	keptRepeat       // counted on the record of the same checkpoint
	keptDropped      // dropped: the log has MaxEvidence records
)

// decide compares req.old with the stored size of its log, checks
// consistency against the stored root, and either refuses (keeping evidence
// if the checkpoint is evidence), answers a replay, or cosigns and stores the
// new checkpoint with its timestamp. In a read-only tx it stops with
// outcome.write where it would write; in a writable one, spent records
// whether the budget was spent, across reruns. It returns an error only if
// storage fails; everything it did is then rolled back.
func (w *Witness) decide(tx *bolt.Tx, l *logConfig, req request, body []byte, n *note.Note, received time.Time, spent *bool) (outcome, error) {
	st, err := getLogState(tx, l.origin)
	if err != nil {
		return outcome{}, err
	}
	if req.old != st.size {
		return outcome{refusal: conflict(req.old, st.size)}, nil
	}
	cp := req.checkpoint
	switch msg, v := checkConsistency(st, req); v {
	case badProof:
		return outcome{refusal: refuse(http.StatusUnprocessableEntity, "%s", msg), badProof: true}, nil
	case misplacedProof:
		return outcome{refusal: refuse(http.StatusUnprocessableEntity, "%s", msg)}, nil
	case inconsistent:
		return w.keepEvidence(tx, l, req, body, st, msg, received)
	}
	refresh := false
	if req.old == cp.Size && st.note != nil && bytes.HasPrefix(st.note, append([]byte(req.text), '\n')) {
		cosig, ts, err := lastCosignature(st.note)
		if err != nil {
			return outcome{}, fmt.Errorf("%w: state of %s: %v", errCorrupt, l.origin, err)
		}
		if received.Sub(time.Unix(int64(ts), 0)) <= w.refresh {
			return outcome{cosig: cosig, replay: true}, nil
		}
		// Bounded by the refresh interval, so it spends no budget.
		refresh = true
	} else if ok, retry := l.budget.check(received); !ok {
		return outcome{refusal: tooManyRequests(l.origin, retry)}, nil
	}
	if !tx.Writable() {
		return outcome{write: true}, nil
	}
	if !refresh && !*spent {
		if ok, retry := l.budget.take(received); !ok {
			return outcome{refusal: tooManyRequests(l.origin, retry)}, nil
		}
		*spent = true
	}
	cosig, err := w.cosignAndStore(tx, l, cp, n, received)
	return outcome{cosig: cosig, refresh: refresh}, err
}

// cosignAndStore cosigns cp, the body of the opened note n, with a timestamp
// no earlier than any used before, and stores it as l's latest cosigned
// checkpoint, with the timestamp, in tx.
func (w *Witness) cosignAndStore(tx *bolt.Tx, l *logConfig, cp tiles.Checkpoint, n *note.Note, now time.Time) ([]byte, error) {
	last, err := getTimestamp(tx)
	if err != nil {
		return nil, err
	}
	ts := nextTimestamp(last, now)
	cosig := w.cosigner.cosign(ts, []byte(n.Text))
	st := logState{size: cp.Size, root: cp.Hash, note: cosignedNote(n, cosig)}
	if err := putLogState(tx, l.origin, st); err != nil {
		return nil, err
	}
	if err := putTimestamp(tx, ts); err != nil {
		return nil, err
	}
	return cosig, nil
}

// keepEvidence refuses req, whose checkpoint the failed check msg shows to
// be inconsistent with st, and keeps it as evidence: a new record, a repeat
// counted on the record of the same checkpoint, or nothing if the log
// already has MaxEvidence records.
func (w *Witness) keepEvidence(tx *bolt.Tx, l *logConfig, req request, body []byte, st logState, msg string, received time.Time) (outcome, error) {
	out := outcome{refusal: refuse(http.StatusUnprocessableEntity, "%s", msg)}
	k := keyOf(req.text)
	id, found, err := lookupEvidence(tx, k)
	if err != nil {
		return outcome{}, err
	}
	count := int64(0)
	if !found {
		if count, err = evidenceCount(tx, l.origin); err != nil {
			return outcome{}, err
		}
	}
	switch {
	case !found && count >= int64(w.maxEvidence):
		out.kept = keptDropped
		return out, nil
	case !tx.Writable():
		return outcome{write: true}, nil
	case found:
		out.kept = keptRepeat
		out.evidence = &Evidence{ID: id, Origin: l.origin, Reason: msg}
		out.evidence.Seen, err = seenAgain(tx, id, received)
		return out, err
	}
	e := Evidence{Origin: l.origin, Reason: msg, Time: received, Request: string(body), Latest: string(st.note)}
	e.ID, err = putEvidence(tx, k, e)
	out.kept, out.evidence = keptNew, &e
	return out, err
}

// tooManyRequests is the 429 for origin, whose budget allows another
// cosignature after retry.
func tooManyRequests(origin string, retry time.Duration) *Error {
	e := refuse(http.StatusTooManyRequests, "budget of %s spent; retry in %v", origin, retry.Round(time.Second))
	e.RetryAfter = retry
	return e
}

// emptyRoot is the RFC 6962 root hash of the empty tree, SHA-256("").
var emptyRoot = tlog.Hash(sha256.Sum256(nil))

// A verdict is what checkConsistency found.
type verdict int

const (
	consistent     verdict = iota
	misplacedProof         // a proof where none belongs: the client's mistake
	badProof               // a proof that does not verify and proves nothing about the log
	inconsistent           // the signed checkpoint cannot be consistent with st: evidence
)

// checkConsistency returns what is wrong with req's checkpoint given the
// state st whose size is req.old, or "" and consistent if nothing is. The
// checks and messages follow c2sp.org/tlog-witness's 422 rules.
//
// A consistency proof that does not verify is evidence only if it proves a
// fork: the root it implies for the new tree is the checkpoint's, so the log
// signed a tree whose prefix of the cosigned size has another root than the
// cosigned one (see tiles.ConsistencyRoots). If the implied new root is not
// the checkpoint's, the proof is junk that anyone could send: it shows
// nothing about the log. When the cosigned size is a power of two, the proof
// leaves out the old root, so no proof can show a fork at that size.
func checkConsistency(st logState, req request) (string, verdict) {
	cp := req.checkpoint
	switch {
	case cp.Size == 0 && cp.Hash != emptyRoot:
		return fmt.Sprintf("checkpoint of size 0 has root %s, not the empty tree's %s", b64(cp.Hash), b64(emptyRoot)), inconsistent
	case req.old == 0 && len(req.proof) > 0:
		return fmt.Sprintf("old size 0 needs an empty consistency proof, got %d lines", len(req.proof)), misplacedProof
	case req.old == 0:
		return "", consistent
	case req.old == cp.Size && cp.Hash != st.root:
		return fmt.Sprintf("checkpoint of size %d has root %s, but the witness cosigned root %s at that size", cp.Size, b64(cp.Hash), b64(st.root)), inconsistent
	case req.old == cp.Size && len(req.proof) > 0:
		return fmt.Sprintf("old size equals checkpoint size %d, so the consistency proof must be empty, got %d lines", cp.Size, len(req.proof)), misplacedProof
	case req.old == cp.Size:
		return "", consistent
	}
	p := make([][]byte, len(req.proof))
	for i := range req.proof {
		p[i] = req.proof[i][:]
	}
	if proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(req.old), uint64(cp.Size), p, st.root[:], cp.Hash[:]) == nil {
		return "", consistent
	}
	msg := fmt.Sprintf("consistency proof from size %d to %d does not verify", req.old, cp.Size)
	oldRoot, newRoot, err := tiles.ConsistencyRoots(req.old, cp.Size, st.root, req.proof)
	if err != nil || newRoot != cp.Hash || oldRoot == st.root {
		return msg, badProof
	}
	return fmt.Sprintf("%s: it leads to the checkpoint's root from a tree of size %d with root %s, but the witness cosigned root %s at that size",
		msg, req.old, b64(oldRoot), b64(st.root)), inconsistent
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// lastCosignature returns the last line of a stored cosigned note, the
// witness's cosignature (see cosignedNote), and its timestamp.
func lastCosignature(n []byte) (line []byte, ts uint64, err error) {
	if len(n) == 0 || n[len(n)-1] != '\n' {
		return nil, 0, errors.New("cosigned note does not end in a newline")
	}
	line = n[bytes.LastIndexByte(n[:len(n)-1], '\n')+1:]
	_, sig64, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(string(line), "— "), "\n"), " ")
	sig, err := base64.StdEncoding.DecodeString(sig64)
	if err != nil || len(sig) != 4+8+ed25519.SignatureSize {
		return nil, 0, fmt.Errorf("last line of the cosigned note %q is not a cosignature", line)
	}
	return bytes.Clone(line), binary.BigEndian.Uint64(sig[4:]), nil
}

// A dropWarner rate-limits the warning that a log's evidence is dropped, to
// one per dropWarnInterval. It is safe for concurrent use.
type dropWarner struct {
	mu      sync.Mutex
	last    time.Time // guarded by mu: when the last warning was due; zero if never
	dropped int64     // guarded by mu: drops since then
}

const dropWarnInterval = time.Hour

// drop counts a drop at now and reports whether to warn now, and how many
// drops the warning covers.
func (d *dropWarner) drop(now time.Time) (warn bool, dropped int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropped++
	if !d.last.IsZero() && now.Sub(d.last) < dropWarnInterval && !now.Before(d.last) {
		return false, 0
	}
	d.last, dropped, d.dropped = now, d.dropped, 0
	return true, dropped
}

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
