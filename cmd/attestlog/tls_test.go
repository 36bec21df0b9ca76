package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attestlog/attestlog/cmd/attestlog/internal/loadgen"
	"github.com/attestlog/attestlog/tiles"
)

// A testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // its certificate, PEM
}

// newTestCA makes a CA and writes its certificate to dir/name.pem.
func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{cert: cert, key: key, file: filepath.Join(dir, name+".pem")}
	writePEM(t, ca.file, "CERTIFICATE", der)
	return ca
}

// issue makes a server certificate for localhost, 127.0.0.1 and ::1, valid
// until notAfter, and writes it and its key to dir/name.pem and
// dir/name.key.
func (ca *testCA) issue(t *testing.T, dir, name string, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-48 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// httpsClient returns an HTTP client that trusts only ca.
func httpsClient(ca *testCA) *http.Client {
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	return &http.Client{Transport: tr, Timeout: testTimeout}
}

// runErr runs a subcommand that must fail and returns its error text.
func runErr(t *testing.T, args ...string) string {
	t.Helper()
	err := run(t.Context(), args, io.Discard, io.Discard)
	if err == nil {
		t.Fatalf("run %q succeeded, want an error", args)
	}
	return err.Error()
}

// TestTLSEndToEnd runs a log and a witness as processes serving TLS with
// certificates of a private CA: a claim submitted over grpcs:// is
// cosigned by the witness over https and published, and looked up again;
// clients that do not trust the CA, speak plaintext to the TLS port, or TLS
// to a plaintext port fail with errors that say what to do.
func TestTLSEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	clearClientEnv(t)
	dir := t.TempDir()
	at := func(p string) string { return filepath.Join(dir, p) }
	ca := newTestCA(t, dir, "ca")
	other := newTestCA(t, dir, "other-ca")
	cert, key := ca.issue(t, dir, "server", time.Now().Add(24*time.Hour))

	logData := at("log")
	if err := os.Mkdir(logData, 0o700); err != nil {
		t.Fatal(err)
	}
	logVKey := strings.TrimSpace(runOK(t, "keygen", "-o", filepath.Join(logData, "log"), "localhost/attestlog"))
	writeFile(t, at("logs"), []byte("log "+logVKey+"\n"))
	wp := startProc(t, []string{"witness vkey:", "http listening on"}, "witness", "--data", at("w"), "--http", "127.0.0.1:0",
		"--name", "w.example", "--logs", at("logs"), "--tls-cert", cert, "--tls-key", key)
	policyText := fmt.Sprintf("log %s\nwitness w %s https://%s/\nquorum w\n", logVKey, wp.get("witness vkey:"), wp.get("http listening on"))
	writeFile(t, at("policy"), []byte(policyText))
	policy, err := tiles.ParsePolicy([]byte(policyText))
	if err != nil {
		t.Fatal(err)
	}
	lp := startProc(t, []string{"http listening on", "grpc listening on"}, "serve", "--data", logData,
		"--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--policy", at("policy"),
		"--tls-cert", cert, "--tls-key", key, "--witness-tls-ca", ca.file)
	httpAddr, grpcAddr := lp.get("http listening on"), lp.get("grpc listening on")
	logURL := "grpcs://" + grpcAddr

	envs, err := loadgen.SignedClaims(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, at("claim.json"), envs[0])
	out := runOK(t, "submit", "--log", logURL, "--tls-ca", ca.file, "--log-vkey", logVKey, at("claim.json"))
	if !strings.Contains(out, "at index 0 ") {
		t.Errorf("submit over TLS printed %q, want index 0", out)
	}

	hc := httpsClient(ca)
	published := func() *tiles.VerifiedCheckpoint {
		resp, err := hc.Get("https://" + httpAddr + "/checkpoint")
		if err != nil {
			t.Fatalf("GET /checkpoint over TLS: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return nil
		}
		vc, err := policy.VerifyCheckpoint(b)
		if err != nil {
			t.Fatalf("the published checkpoint does not meet the policy: %v\n%s", err, b)
		}
		return vc
	}
	waitFor(t, "the TLS witness cosigned size 1 and the log published it", func() bool {
		vc := published()
		return vc != nil && vc.Size == 1
	})
	// With ATTESTLOG_LOG_GRPC and ATTESTLOG_LOG_TLS_CA, as the other flags.
	t.Setenv("ATTESTLOG_LOG_GRPC", logURL)
	t.Setenv("ATTESTLOG_LOG_TLS_CA", ca.file)
	if out := runOK(t, "mismatches"); !strings.HasPrefix(out, "no mismatches: ") {
		t.Errorf("mismatches over TLS printed %q", out)
	}
	clearClientEnv(t)

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no CA", []string{"mismatches", "--log", logURL},
			"not signed by a CA in the system roots; give its CA with --tls-ca FILE"},
		{"other CA", []string{"mismatches", "--log", logURL, "--tls-ca", other.file},
			"not signed by a CA in --tls-ca " + other.file},
		{"plaintext to TLS", []string{"mismatches", "--log", grpcAddr},
			"if the log serves TLS, write --log grpcs://" + grpcAddr},
		{"CA for plaintext", []string{"mismatches", "--log", grpcAddr, "--tls-ca", ca.file},
			"--tls-ca is for a log reached over TLS, but --log " + grpcAddr + " is plaintext"},
		{"not a CA file", []string{"mismatches", "--log", logURL, "--tls-ca", key},
			"holds no PEM certificate"},
		{"https scheme", []string{"mismatches", "--log", "https://" + grpcAddr},
			`unknown scheme "https"; want grpcs://HOST[:PORT] for TLS`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := runErr(t, tt.args...); !strings.Contains(got, tt.want) {
				t.Errorf("run %q = %s\nwant an error containing %q", tt.args, got, tt.want)
			}
		})
	}

	resp, err := http.Get("http://" + httpAddr + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(b, []byte("HTTP request to an HTTPS server")) {
		t.Errorf("plaintext GET of the TLS HTTP port: %s %q, want 400 and a hint to use https", resp.Status, b)
	}

	plain := startServe(t, []string{"serve", "--data", at("plain"), "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0"})
	if got := runErr(t, "mismatches", "--log", "grpcs://"+plain.grpcAddr, "--tls-ca", ca.file); !strings.Contains(got, "does not speak TLS") {
		t.Errorf("grpcs:// to a plaintext log = %s\nwant an error saying it does not speak TLS", got)
	}
}
