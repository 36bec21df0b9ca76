// Package netconf builds attestlog's TLS configurations and connections: a
// server's certificate, a client's CA bundle, loopback-only listeners, and
// the gRPC connection to a log at --log, whose errors say what is wrong and
// what to try. The command and its tests share it. Its functions are safe
// for concurrent use.
package netconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
)

// maxCAFileSize bounds what LoadCAPool reads: a bundle of a few hundred
// certificates.
const maxCAFileSize = 4 << 20

// LoadServerTLS returns the TLS configuration of a server with the
// certificate chain and private key in the PEM files certFile and keyFile,
// or nil if both are empty (plaintext). Setting only one is an error.
func LoadServerTLS(certFile, keyFile string) (*tls.Config, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "" || keyFile == "":
		return nil, usage.Errorf("--tls-cert and --tls-key go together: give both PEM files, or neither to serve plaintext")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	// LoadX509KeyPair sets Leaf since Go 1.23.
	if now := time.Now(); cert.Leaf != nil && now.After(cert.Leaf.NotAfter) {
		return nil, fmt.Errorf("TLS certificate %s expired at %s; renew it", certFile, cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// LoadCAPool returns the certificates of the PEM bundle at path, for
// verifying servers signed by a private CA, or nil (the system roots) if
// path is empty.
func LoadCAPool(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading CA bundle: %w", err)
	}
	if fi.Size() > maxCAFileSize {
		return nil, fmt.Errorf("CA bundle %s is larger than %d bytes", path, maxCAFileSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA bundle %s holds no PEM certificate (want -----BEGIN CERTIFICATE----- blocks)", path)
	}
	return pool, nil
}

// ClientTLS returns the TLS configuration of a client that trusts roots
// (nil: the system roots).
func ClientTLS(roots *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
}

// HTTPClientFor returns an HTTP client whose https connections trust the
// CA bundle at caFile, or nil (http.DefaultClient, the system roots) if
// caFile is empty.
func HTTPClientFor(caFile string) (*http.Client, error) {
	roots, err := LoadCAPool(caFile)
	if err != nil || roots == nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = ClientTLS(roots)
	return &http.Client{Transport: tr}, nil
}

// ListenLoopback listens on addr for a service that must stay on this
// machine: addr must name a loopback interface, an IP such as 127.0.0.1 or
// [::1], or localhost, with a port. flagName names the flag in errors.
func ListenLoopback(ctx context.Context, flagName, addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, usage.Errorf("%s %q: %v; want a loopback address such as 127.0.0.1:6060", flagName, addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, usage.Errorf("%s %q is not a loopback address; it serves the process's internals, so listen on 127.0.0.1, [::1] or localhost only", flagName, addr)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	// localhost could resolve to anything: check what was bound.
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("%s %s bound %s, which is not a loopback address", flagName, addr, ln.Addr())
	}
	return ln, nil
}
