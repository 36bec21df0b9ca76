package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/attestlog/attestlog/tiles"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

const (
	// defaultLogAddr is the gRPC address of a log serve runs with its defaults.
	defaultLogAddr = "127.0.0.1:7381"
	// maxResponseSize bounds one gRPC response: a lookup returns every
	// matching claim, each up to claim.MaxEntrySize bytes, in one message.
	maxResponseSize = 64 << 20
)

// logFlags are the flags of every subcommand that talks to a log.
type logFlags struct {
	addr string // HOST:PORT (plaintext) or grpcs://HOST[:PORT] (TLS)
	ca   string // PEM bundle of the CA that signed the log's certificate; empty: the system roots
	vkey string // FILE or VKEY; empty skips the checkpoint signature check
}

func (f *logFlags) register(fs *flag.FlagSet) {
	f.registerAddr(fs)
	fs.StringVar(&f.vkey, "log-vkey", envOr("ATTESTLOG_LOG_VKEY", ""), "the log's verifier key, or a `file` holding it; checkpoint signatures are verified only if set (env ATTESTLOG_LOG_VKEY)")
}

// registerAddr registers --log and --tls-ca alone, for subcommands that
// verify nothing.
func (f *logFlags) registerAddr(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "log", envOr("ATTESTLOG_LOG_GRPC", defaultLogAddr), "gRPC `addr`ess of the log: HOST:PORT in plaintext (loopback), or grpcs://HOST[:PORT] over TLS (env ATTESTLOG_LOG_GRPC)")
	fs.StringVar(&f.ca, "tls-ca", envOr("ATTESTLOG_LOG_TLS_CA", ""), "PEM `file` of the CA certificates to trust for a grpcs:// log; default the system roots (env ATTESTLOG_LOG_TLS_CA)")
}

// A logClient is a gRPC connection to a log, with the log's verifier key if
// one was given.
type logClient struct {
	pb.LogServiceClient
	conn     *grpc.ClientConn
	verifier note.Verifier // nil: checkpoint signatures are not checked
}

// dial parses the log verifier key, if any, and connects to the log.
func (f *logFlags) dial() (*logClient, error) {
	c := &logClient{}
	if f.vkey != "" {
		v, err := parseLogVKey(f.vkey)
		if err != nil {
			return nil, err
		}
		c.verifier = v
	}
	conn, err := f.conn()
	if err != nil {
		return nil, err
	}
	c.conn, c.LogServiceClient = conn, pb.NewLogServiceClient(conn)
	return c, nil
}

// conn returns a new gRPC connection to the log at --log: over TLS,
// trusting --tls-ca or the system roots, for grpcs://; else plaintext.
func (f *logFlags) conn() (*grpc.ClientConn, error) {
	target, useTLS, err := parseLogAddr(f.addr)
	if err != nil {
		return nil, err
	}
	if f.ca != "" && !useTLS {
		return nil, usageErrorf("--tls-ca is for a log reached over TLS, but --log %s is plaintext; write --log grpcs://%s", f.addr, target)
	}
	h := dialHint{target: target, tls: useTLS}
	opts := []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxResponseSize)),
		grpc.WithChainUnaryInterceptor(h.unary), grpc.WithChainStreamInterceptor(h.stream)}
	if useTLS {
		roots, err := loadCAPool(f.ca)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(hintedTLS{credentials.NewTLS(clientTLS(roots)), f.ca}))
	} else {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to log %s: %w", f.addr, err)
	}
	return conn, nil
}

// parseLogAddr parses --log: grpcs://HOST[:PORT] is TLS (port 443 if
// omitted), grpc://HOST[:PORT] and a bare HOST:PORT are plaintext. It
// returns the gRPC target, HOST[:PORT].
func parseLogAddr(s string) (target string, useTLS bool, err error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		if s == "" {
			return "", false, usageErrorf("--log is empty; want HOST:PORT or grpcs://HOST[:PORT]")
		}
		if _, port, err := net.SplitHostPort(s); err != nil || !isPort(port) {
			return "", false, usageErrorf("--log %q: want HOST:PORT with a port number, such as %s (serve's --grpc), or grpcs://HOST[:PORT] for TLS", s, defaultLogAddr)
		}
		return s, false, nil
	}
	switch scheme {
	case "grpcs":
		useTLS = true
	case "grpc":
	case "http", "https":
		return "", false, usageErrorf("--log %q: unknown scheme %q; want grpcs://HOST[:PORT] for TLS, or HOST:PORT for plaintext (such as %s, serve's --grpc): --log takes the log's gRPC address, not a URL of its HTTP API", s, scheme, defaultLogAddr)
	default:
		return "", false, usageErrorf("--log %q: unknown scheme %q; want grpcs://HOST[:PORT] for TLS, or HOST:PORT for plaintext", s, scheme)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Host != rest || u.Hostname() == "" {
		return "", false, usageErrorf("--log %q: want %s://HOST[:PORT], with no path, user or query", s, scheme)
	}
	return u.Host, useTLS, nil
}

// hintedTLS is gRPC's TLS transport credentials with errors that say what
// to do about the two usual failures: a certificate the client does not
// trust, and a log that does not speak TLS.
type hintedTLS struct {
	credentials.TransportCredentials
	ca string // --tls-ca, for the hint
}

func (h hintedTLS) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	c, info, err := h.TransportCredentials.ClientHandshake(ctx, authority, conn)
	var (
		unknown x509.UnknownAuthorityError
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
	)
	switch {
	case err == nil:
	case errors.As(err, &unknown) && h.ca == "":
		err = fmt.Errorf("the log's TLS certificate is not signed by a CA in the system roots; give its CA with --tls-ca FILE: %w", err)
	case errors.As(err, &unknown):
		err = fmt.Errorf("the log's TLS certificate is not signed by a CA in --tls-ca %s: %w", h.ca, err)
	case errors.As(err, &verify):
		err = fmt.Errorf("the log's TLS certificate does not verify for %s: %w", authority, err)
	case errors.As(err, &record):
		err = fmt.Errorf("the log at %s does not speak TLS; for a plaintext log write --log HOST:PORT, without grpcs://: %w", authority, err)
	}
	return c, info, err
}

func (h hintedTLS) Clone() credentials.TransportCredentials {
	return hintedTLS{h.TransportCredentials.Clone(), h.ca}
}

// isPort reports whether s is a TCP port number.
func isPort(s string) bool {
	n, err := strconv.ParseUint(s, 10, 16)
	return err == nil && strconv.FormatUint(n, 10) == s
}

// A dialHint adds to gRPC's connection errors what is wrong and what to
// try: nothing listening at --log, an HTTP server there (serve's HTTP
// port), or a TLS server reached in plaintext. A TLS server closes the
// connection without a word when it sees HTTP/2 instead of a handshake,
// which gRPC reports only as a failure to read the server's HTTP/2 preface.
type dialHint struct {
	target string
	tls    bool
}

func (h dialHint) hint(err error) error {
	s, ok := status.FromError(err)
	if !ok || s.Code() != codes.Unavailable {
		return err
	}
	msg := s.Message()
	var hint string
	switch {
	case strings.Contains(msg, "connection refused"):
		hint = fmt.Sprintf("nothing is listening at %s: is attestlog serve running there? --log is serve's gRPC address (--grpc, default %s), not its HTTP one (--http, default 127.0.0.1:7380)", h.target, defaultLogAddr)
	case strings.Contains(msg, "looked like an HTTP/1.1 header"):
		hint = fmt.Sprintf("%s answers HTTP/1.1, not gRPC: it is an HTTP port, such as serve's --http (default 127.0.0.1:7380); give --log serve's gRPC address (--grpc, default %s)", h.target, defaultLogAddr)
	case strings.Contains(msg, "server preface") && !h.tls:
		hint = fmt.Sprintf("the log closed the connection before speaking gRPC; if the log serves TLS, write --log grpcs://%s", h.target)
	case strings.Contains(msg, "no such host"), strings.Contains(msg, "unknown port"):
		hint = fmt.Sprintf("%s does not resolve: check the host name in --log", h.target)
	default:
		return err
	}
	return status.Errorf(codes.Unavailable, "%s (%s)", hint, msg)
}

func (h dialHint) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return h.hint(invoker(ctx, method, req, reply, cc, opts...))
}

func (h dialHint) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cs, err := streamer(ctx, desc, cc, method, opts...)
	return cs, h.hint(err)
}

func (c *logClient) Close() error { return c.conn.Close() }

// parseLogVKey reads --log-vkey: a verifier key, or a file holding one.
func parseLogVKey(s string) (note.Verifier, error) {
	if v, err := note.NewVerifier(s); err == nil {
		return v, nil
	}
	b, err := os.ReadFile(s)
	if err != nil {
		return nil, fmt.Errorf("--log-vkey %q is neither a verifier key nor a readable file: %w", s, err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("--log-vkey %s: %w", s, err)
	}
	return v, nil
}

// checkpoint parses a checkpoint note. With a verifier key it verifies the
// log's signature first; without one it only parses the body, so proofs
// against it show consistency with what the log said, not that the log
// signed it. verified reports which.
func (c *logClient) checkpoint(msg []byte) (cp tiles.Checkpoint, verified bool, err error) {
	if c.verifier != nil {
		cp, err := client.OpenCheckpoint(msg, c.verifier)
		return cp, err == nil, err
	}
	// A signed note's text ends at its last blank line (c2sp.org/signed-note).
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return tiles.Checkpoint{}, false, errors.New("checkpoint is not a signed note")
	}
	cp, err = tiles.ParseCheckpoint(msg[:i+1])
	return cp, false, err
}

// checkpointStatus describes how far a checkpoint was verified, for output.
func checkpointStatus(cp tiles.Checkpoint, verified bool) string {
	s := fmt.Sprintf("checkpoint %s, tree size %d", cp.Origin, cp.Size)
	if !verified {
		s += " (signature NOT verified: no --log-vkey)"
	}
	return s
}

// A verifiedClaim is a logged claim whose entry parsed, whose signatures
// verified and whose inclusion proof verified against a checkpoint.
type verifiedClaim struct {
	Index, TreeSize int64
	Entry           []byte   // the entry bytes as logged
	Proof           [][]byte // inclusion proof against the checkpoint
	Parsed          *claim.Entry
	Claim           *claim.Claim
	Signers         []string // key names, in signature order
}

// verifyProvenClaims checks every claim against cp: the entry is a
// canonical claim entry, every signature verifies and the inclusion proof
// leads to cp's root hash. It stops at the first failure.
func verifyProvenClaims(cp tiles.Checkpoint, pcs []*pb.ProvenClaim) ([]verifiedClaim, error) {
	out := make([]verifiedClaim, len(pcs))
	for i, pc := range pcs {
		vc, err := verifyProvenClaim(cp, pc)
		if err != nil {
			return nil, fmt.Errorf("claim at index %d: %w", pc.GetIndex(), err)
		}
		out[i] = vc
	}
	return out, nil
}

func verifyProvenClaim(cp tiles.Checkpoint, pc *pb.ProvenClaim) (verifiedClaim, error) {
	vc := verifiedClaim{Entry: pc.GetEntry(), Proof: proofHashes(pc)}
	var err error
	if vc.Index, err = toInt64("index", pc.GetIndex()); err != nil {
		return vc, err
	}
	if vc.TreeSize, err = toInt64("tree size", pc.GetTreeSize()); err != nil {
		return vc, err
	}
	if err := verifyInclusion(cp, vc.Index, vc.TreeSize, vc.Entry, vc.Proof); err != nil {
		return vc, err
	}
	if vc.Parsed, err = claim.ParseEntry(vc.Entry); err != nil {
		return vc, err
	}
	verifiers, err := vc.Parsed.Verify()
	if err != nil {
		return vc, err
	}
	for _, v := range verifiers {
		vc.Signers = append(vc.Signers, v.Name())
	}
	vc.Claim, err = claim.ParseStatement(vc.Parsed.Payload)
	return vc, err
}

// proofHashes returns the inclusion proof of pc, empty rather than nil so
// that JSON shows a list.
func proofHashes(pc *pb.ProvenClaim) [][]byte {
	if p := pc.GetInclusionProof(); p != nil {
		return p
	}
	return [][]byte{}
}

// verifyInclusion checks an RFC 6962 inclusion proof of entry at index in
// the tree of cp, which must have size treeSize.
func verifyInclusion(cp tiles.Checkpoint, index, treeSize int64, entry []byte, p [][]byte) error {
	if treeSize != cp.Size {
		return fmt.Errorf("proof is for tree size %d, the checkpoint has size %d", treeSize, cp.Size)
	}
	if index < 0 || index >= treeSize {
		return fmt.Errorf("index %d is outside the tree of size %d", index, treeSize)
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(entry)
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(index), uint64(treeSize), leaf, p, cp.Hash[:]); err != nil {
		return fmt.Errorf("inclusion proof does not verify against the checkpoint: %w", err)
	}
	return nil
}

// toInt64 converts a proto index or size, refusing values above 2^63-1.
func toInt64(name string, v uint64) (int64, error) {
	if v > math.MaxInt64 {
		return 0, fmt.Errorf("%s %d is larger than 2^63-1", name, v)
	}
	return int64(v), nil
}

// hashFile returns the hex sha256 and the size of the file at path,
// reading it as a stream.
func hashFile(path string) (digest string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	if size, err = io.Copy(h, f); err != nil {
		return "", 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// A receipt is the proof that a claim is in the log, saved by submit as
// <claim>.receipt.json. It verifies offline with the log's verifier key:
// the checkpoint's signature, then the inclusion proof of the entry at
// index in the tree of size tree_size against the checkpoint's root hash.
// []byte fields are standard base64.
type receipt struct {
	Index          int64    `json:"index"`
	TreeSize       int64    `json:"tree_size"`
	Entry          []byte   `json:"entry"`
	InclusionProof [][]byte `json:"inclusion_proof"`
	Checkpoint     string   `json:"checkpoint"`
}

// yesNo formats a bool for people.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// short abbreviates a hex digest for tables.
func short(hex string) string {
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}

// parseArgs parses args with fs, allowing flags after positional
// arguments ("evidence pull 3 -o DIR"), and returns the positional ones.
// After "--" everything is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}
