package netconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

const (
	// DefaultLogAddr is the gRPC address of a log serve runs with its defaults.
	DefaultLogAddr = "127.0.0.1:7381"
	// maxResponseSize bounds one gRPC response: a lookup returns every
	// matching claim, each up to claim.MaxEntrySize bytes, in one message.
	maxResponseSize = 64 << 20
)

// DialLog returns a new gRPC connection to the log at addr, as --log gives
// it: over TLS for grpcs://, trusting the CA certificates in the PEM file
// ca or, if ca is empty, the system roots; else plaintext. Its errors say
// what to try: see [ParseLogAddr] and the hints of a failed call.
func DialLog(addr, ca string) (*grpc.ClientConn, error) {
	target, useTLS, err := ParseLogAddr(addr)
	if err != nil {
		return nil, err
	}
	if ca != "" && !useTLS {
		return nil, usage.Errorf("--tls-ca is for a log reached over TLS, but --log %s is plaintext; write --log grpcs://%s", addr, target)
	}
	h := dialHint{target: target, tls: useTLS}
	opts := []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxResponseSize)),
		grpc.WithChainUnaryInterceptor(h.unary), grpc.WithChainStreamInterceptor(h.stream)}
	if useTLS {
		roots, err := LoadCAPool(ca)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(hintedTLS{credentials.NewTLS(ClientTLS(roots)), ca}))
	} else {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to log %s: %w", addr, err)
	}
	return conn, nil
}

// ParseLogAddr parses --log: grpcs://HOST[:PORT] is TLS (port 443 if
// omitted), grpc://HOST[:PORT] and a bare HOST:PORT are plaintext. It
// returns the gRPC target, HOST[:PORT].
func ParseLogAddr(s string) (target string, useTLS bool, err error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		if s == "" {
			return "", false, usage.Errorf("--log is empty; want HOST:PORT or grpcs://HOST[:PORT]")
		}
		if _, port, err := net.SplitHostPort(s); err != nil || !isPort(port) {
			return "", false, usage.Errorf("--log %q: want HOST:PORT with a port number, such as %s (serve's --grpc), or grpcs://HOST[:PORT] for TLS", s, DefaultLogAddr)
		}
		return s, false, nil
	}
	switch scheme {
	case "grpcs":
		useTLS = true
	case "grpc":
	case "http", "https":
		return "", false, usage.Errorf("--log %q: unknown scheme %q; want grpcs://HOST[:PORT] for TLS, or HOST:PORT for plaintext (such as %s, serve's --grpc): --log takes the log's gRPC address, not a URL of its HTTP API", s, scheme, DefaultLogAddr)
	default:
		return "", false, usage.Errorf("--log %q: unknown scheme %q; want grpcs://HOST[:PORT] for TLS, or HOST:PORT for plaintext", s, scheme)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Host != rest || u.Hostname() == "" {
		return "", false, usage.Errorf("--log %q: want %s://HOST[:PORT], with no path, user or query", s, scheme)
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
		hint = fmt.Sprintf("nothing is listening at %s: is attestlog serve running there? --log is serve's gRPC address (--grpc, default %s), not its HTTP one (--http, default 127.0.0.1:7380)", h.target, DefaultLogAddr)
	case strings.Contains(msg, "looked like an HTTP/1.1 header"):
		hint = fmt.Sprintf("%s answers HTTP/1.1, not gRPC: it is an HTTP port, such as serve's --http (default 127.0.0.1:7380); give --log serve's gRPC address (--grpc, default %s)", h.target, DefaultLogAddr)
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
