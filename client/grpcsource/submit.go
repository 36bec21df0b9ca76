package grpcsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"os"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/submit"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// uploadChunkSize is the size of the chunks Upload sends.
const uploadChunkSize = 256 << 10

// MaxBackoff caps the backoff a [Retry] adds to the log's RetryInfo delay.
const MaxBackoff = 30 * time.Second

// A Retry retries a call while the log answers ResourceExhausted
// (overloaded, rate-limited, out of temporary space): it waits the
// RetryInfo delay the log sent plus a jittered exponential backoff, for at
// most Attempts calls and MaxTime in all. [DefaultRetry] gives the
// defaults of "attestlog submit".
type Retry struct {
	Attempts int                                              // most calls; 1 never retries
	MaxTime  time.Duration                                    // most time to spend retrying one call
	Base     time.Duration                                    // first backoff; doubled per attempt up to MaxBackoff
	Jitter   func(n int64) int64                              // uniform in [0, n); nil means math/rand/v2.Int64N
	Sleep    func(ctx context.Context, d time.Duration) error // waits d or until ctx is done; nil means a timer
	Now      func() time.Time                                 // nil means time.Now
}

// DefaultRetry returns 6 attempts within 2 minutes, from a backoff of
// half a second.
func DefaultRetry() Retry {
	return Retry{Attempts: 6, MaxTime: 2 * time.Minute, Base: 500 * time.Millisecond}
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Do calls f until it succeeds, fails otherwise than ResourceExhausted, or
// the attempts or time run out, saying on warn each time it waits for
// what (a file name, for example).
func (p Retry) Do(ctx context.Context, what string, warn io.Writer, f func() error) error {
	jitter, sleep, now := p.Jitter, p.Sleep, p.Now
	if jitter == nil {
		jitter = mathrand.Int64N
	}
	if sleep == nil {
		sleep = sleepContext
	}
	if now == nil {
		now = time.Now
	}
	start := now()
	for attempt := 1; ; attempt++ {
		err := f()
		var se interface{ GRPCStatus() *status.Status }
		if err == nil || !errors.As(err, &se) || se.GRPCStatus().Code() != codes.ResourceExhausted {
			return err
		}
		st := se.GRPCStatus()
		if attempt >= p.Attempts {
			return fmt.Errorf("%w (gave up after %d attempts; --retries allows more)", err, attempt)
		}
		wait := serverDelay(st)
		if backoff := min(MaxBackoff, p.Base<<min(attempt-1, 16)); backoff > 0 {
			wait += time.Duration(jitter(int64(backoff)))
		}
		if spent := now().Sub(start); spent+wait > p.MaxTime {
			return fmt.Errorf("%w (gave up: waiting %v more would pass --retry-time %v)", err, wait.Round(time.Millisecond), p.MaxTime)
		}
		fmt.Fprintf(warn, "attestlog: the log is busy with %s (%s); retrying in %v, attempt %d of %d\n",
			what, st.Message(), wait.Round(time.Millisecond), attempt+1, p.Attempts)
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: waiting to retry: %w", what, err)
		}
	}
}

// serverDelay returns the RetryInfo delay of a status, or 0 without one.
func serverDelay(st *status.Status) time.Duration {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay().IsValid() {
			return max(0, ri.GetRetryDelay().AsDuration())
		}
	}
	return 0
}

// CheckReceipt checks that the log's answer r to an AddClaim request
// logged exactly entry and proves it: the inclusion proof against the
// checkpoint, and the checkpoint's signature if v, the log's verifier key,
// is not nil. It returns the receipt even when a check fails: what the log
// signed is evidence against it.
func CheckReceipt(v note.Verifier, entry []byte, r *pb.AddClaimResponse) (client.Receipt, error) {
	pc := r.GetClaim()
	rec := client.Receipt{Entry: pc.GetEntry(), InclusionProof: proofOf(pc), Checkpoint: string(r.GetCheckpoint())}
	var err error
	if rec.Index, err = toInt64("index", pc.GetIndex()); err != nil {
		return rec, err
	}
	if rec.TreeSize, err = toInt64("tree size", pc.GetTreeSize()); err != nil {
		return rec, err
	}
	if !bytes.Equal(rec.Entry, entry) {
		return rec, errors.New("the logged entry is not the submitted claim")
	}
	cp, _, err := client.ReadCheckpoint(r.GetCheckpoint(), v)
	if err != nil {
		return rec, err
	}
	return rec, client.VerifyInclusion(cp, rec.Index, rec.TreeSize, rec.Entry, rec.InclusionProof)
}

// Upload streams the file of a to the log's archive with UploadArtifact:
// the header, then the file in chunks, calling progress with the bytes
// sent after each. The log verifies the digest and size as the bytes
// arrive; Upload checks the digest the log says it stored. alreadyStored
// reports that the archive held the file before.
func (s *Source) Upload(ctx context.Context, a submit.Artifact, progress func(sent int64)) (alreadyStored bool, err error) {
	r, err := s.upload(ctx, a, progress)
	if err != nil {
		return false, err
	}
	if r.GetSha256() != a.SHA256 {
		return false, fmt.Errorf("the log stored sha256 %q, want %s", r.GetSha256(), a.SHA256)
	}
	return r.GetAlreadyStored(), nil
}

func (s *Source) upload(ctx context.Context, a submit.Artifact, progress func(sent int64)) (*pb.UploadArtifactResponse, error) {
	f, err := os.Open(a.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if reading the file fails
	st, err := s.c.UploadArtifact(ctx)
	if err != nil {
		return nil, err
	}
	hdr := &pb.UploadHeader{Sha256: a.SHA256, Size: uint64(a.Size), Entry: a.Entry}
	if err := st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Header{Header: hdr}}); err != nil {
		return st.CloseAndRecv() // the log ended the stream; its status says why
	}
	var sent int64
	for {
		buf := make([]byte, uploadChunkSize) // gRPC may hold a sent message: never reuse one
		n, rerr := io.ReadFull(f, buf)
		if n > 0 {
			if err := st.Send(&pb.UploadArtifactRequest{Part: &pb.UploadArtifactRequest_Chunk{Chunk: buf[:n]}}); err != nil {
				break
			}
			sent += int64(n)
			progress(sent)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		} else if rerr != nil {
			return nil, fmt.Errorf("reading %s: %w", a.Path, rerr)
		}
	}
	r, err := st.CloseAndRecv()
	if err == nil && sent != a.Size {
		return nil, fmt.Errorf("%s changed while uploading: %d bytes, hashed %d", a.Path, sent, a.Size)
	}
	return r, err
}
