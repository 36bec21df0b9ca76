package main

import (
	"flag"
	"fmt"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/grpcsource"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/netconf"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/grpc"
)

// logFlags are the flags of every subcommand that talks to a log.
type logFlags struct {
	addr string // HOST:PORT (plaintext) or grpcs://HOST[:PORT] (TLS)
	ca   string // PEM bundle of the CA that signed the log's certificate; empty: the system roots
	vkey string // FILE or VKEY; empty skips the checkpoint signature check
}

func (f *logFlags) register(fs *flag.FlagSet) {
	f.registerAddr(fs)
	fs.StringVar(&f.vkey, "log-vkey", usage.Env("ATTESTLOG_LOG_VKEY", ""), "the log's verifier key, or a `file` holding it; checkpoint signatures are verified only if set (env ATTESTLOG_LOG_VKEY)")
}

// registerAddr registers --log and --tls-ca alone, for subcommands that
// verify nothing.
func (f *logFlags) registerAddr(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "log", usage.Env("ATTESTLOG_LOG_GRPC", netconf.DefaultLogAddr), "gRPC `addr`ess of the log: HOST:PORT in plaintext (loopback), or grpcs://HOST[:PORT] over TLS (env ATTESTLOG_LOG_GRPC)")
	fs.StringVar(&f.ca, "tls-ca", usage.Env("ATTESTLOG_LOG_TLS_CA", ""), "PEM `file` of the CA certificates to trust for a grpcs:// log; default the system roots (env ATTESTLOG_LOG_TLS_CA)")
}

// A logClient is a gRPC connection to a log, with the log's verifier key if
// one was given.
type logClient struct {
	pb.LogServiceClient
	conn     *grpc.ClientConn
	src      *grpcsource.Source // the same connection, as the client packages use it
	verifier note.Verifier      // nil: checkpoint signatures are not checked
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
	c.conn, c.LogServiceClient, c.src = conn, pb.NewLogServiceClient(conn), grpcsource.New(conn)
	return c, nil
}

// conn returns a new gRPC connection to the log at --log: over TLS,
// trusting --tls-ca or the system roots, for grpcs://; else plaintext.
func (f *logFlags) conn() (*grpc.ClientConn, error) {
	return netconf.DialLog(f.addr, f.ca)
}

func (c *logClient) Close() error { return c.conn.Close() }

// parseLogVKey reads --log-vkey: a verifier key, or a file holding one.
func parseLogVKey(s string) (note.Verifier, error) {
	v, err := client.LoadVerifier(s)
	if err != nil {
		return nil, fmt.Errorf("--log-vkey %w", err)
	}
	return v, nil
}
