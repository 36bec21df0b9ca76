// Package s3test gives tests a real S3 object store: the one named by the
// environment variable ATTESTLOG_TEST_S3
// (http://ACCESS_KEY:SECRET_KEY@host:port), or else a throwaway Ceph RADOS
// Gateway that it starts once per test binary with the repository's
// .ci/ceph.sh (about 13 s) when the Ceph binaries are installed, and that
// [Main] stops. A test skips, saying so, only when neither is available.
// Import it only from _test.go files, whose TestMain calls [Main].
package s3test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attestlog/attestlog/log/objstore"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// EnvS3 names the environment variable with the URL of an existing store.
const EnvS3 = "ATTESTLOG_TEST_S3"

// A Server is an S3 endpoint for tests, with a user's static keys.
type Server struct {
	Endpoint             string // e.g. http://127.0.0.1:17480
	AccessKey, SecretKey string
}

var (
	once    sync.Once
	shared  *Server
	skipMsg string // why there is no server, if shared is nil
	failMsg string // why starting one failed
	started string // the directory of the cluster this binary started
)

// Main runs the tests and then stops the cluster that Start started, if
// any. Call it from TestMain: os.Exit(s3test.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if started != "" {
		if out, err := exec.Command("bash", script(), "stop", started).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "s3test: stopping Ceph in %s: %v\n%s", started, err, out)
			return 1
		}
	}
	return code
}

// Start returns the store for the test: the one from EnvS3, or the cluster
// of this test binary, started on first use.
func Start(t testing.TB) *Server {
	t.Helper()
	once.Do(func() { shared, skipMsg, failMsg = start() })
	switch {
	case failMsg != "":
		t.Fatal(failMsg)
	case shared == nil:
		t.Skip(skipMsg)
	}
	return shared
}

func start() (*Server, string, string) {
	if u := os.Getenv(EnvS3); u != "" {
		s, err := parse(u)
		if err != nil {
			return nil, "", fmt.Sprintf("%s: %v", EnvS3, err)
		}
		return s, "", ""
	}
	for _, b := range []string{"ceph-mon", "ceph-osd", "radosgw", "radosgw-admin"} {
		if _, err := exec.LookPath(b); err != nil {
			return nil, fmt.Sprintf("no S3 store: set %s=http://KEY:SECRET@host:port, or install Ceph (bash .ci/ceph.sh install): %s is missing", EnvS3, b), ""
		}
	}
	var last []byte
	for range 5 {
		dir, err := os.MkdirTemp("", "attestlog-s3test-")
		if err != nil {
			return nil, "", err.Error()
		}
		os.Remove(dir) // ceph.sh creates it
		mon, rgw := freePort(), freePort()
		cmd := exec.Command("bash", script(), "start", dir, strconv.Itoa(mon), strconv.Itoa(rgw))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			last = append(out, stderr.Bytes()...)
			exec.Command("bash", script(), "stop", dir).Run()
			continue
		}
		started = dir
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), EnvS3+"="); ok {
				s, err := parse(v)
				if err != nil {
					return nil, "", fmt.Sprintf(".ci/ceph.sh start printed %q: %v", v, err)
				}
				return s, "", ""
			}
		}
		return nil, "", fmt.Sprintf(".ci/ceph.sh start printed no %s line:\n%s", EnvS3, out)
	}
	return nil, "", fmt.Sprintf("starting Ceph with .ci/ceph.sh failed 5 times; last output:\n%s", last)
}

func parse(s string) (*Server, error) {
	u, err := url.Parse(s)
	if err != nil || u.User == nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("want http://ACCESS_KEY:SECRET_KEY@host:port, got %q", s)
	}
	secret, _ := u.User.Password()
	return &Server{Endpoint: u.Scheme + "://" + u.Host, AccessKey: u.User.Username(), SecretKey: secret}, nil
}

// script finds .ci/ceph.sh from the working directory of the test, which is
// its package's directory in the repository.
func script() string {
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, ".ci", "ceph.sh")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ".ci/ceph.sh"
		}
		dir = parent
	}
}

// freePort returns a free loopback port below 32768, outside the ephemeral
// range, so that no outgoing connection takes it meanwhile.
func freePort() int {
	for {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			ln.Close()
			return port
		}
	}
}

// Config returns the objstore configuration of s, with its static keys.
func (s *Server) Config() objstore.Config {
	return objstore.Config{Endpoint: s.Endpoint, Credentials: s.Credentials()}
}

// Credentials returns s's static keys.
func (s *Server) Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")
}

// Env returns the environment variables that give a process s's keys
// through the SDK's usual chain.
func (s *Server) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + s.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s.SecretKey, "AWS_REGION=us-east-1"}
}

// Client returns an S3 client of s with its keys.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{BaseEndpoint: aws.String(s.Endpoint), UsePathStyle: true, Region: "us-east-1", Credentials: s.Credentials()})
}

var seq atomic.Int64

// NewBucket creates an empty bucket with a fresh name, with S3 Object Lock
// (and so versioning) if lock is set, and returns its name. Buckets are not
// removed: objects under Object Lock cannot be, and the throwaway cluster
// goes with its memory.
func (s *Server) NewBucket(t testing.TB, lock bool) string {
	t.Helper()
	name := fmt.Sprintf("attestlog-test-%d-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9, seq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := &s3.CreateBucketInput{Bucket: &name}
	if lock {
		in.ObjectLockEnabledForBucket = aws.Bool(true)
	}
	if _, err := s.Client().CreateBucket(ctx, in); err != nil {
		t.Fatalf("creating test bucket %s: %v", name, err)
	}
	return name
}

// AllowAnonymousRead grants everyone s3:GetObject on bucket, as an operator
// does to serve the log from the bucket (behind a CDN).
func (s *Server) AllowAnonymousRead(t testing.TB, bucket string) {
	t.Helper()
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`, bucket)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.Client().PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: &bucket, Policy: &policy}); err != nil {
		t.Fatalf("granting anonymous reads on %s: %v", bucket, err)
	}
}
