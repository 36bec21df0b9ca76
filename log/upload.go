package log

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/attestlog/attestlog/log/claim/record"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"google.golang.org/grpc"
)

// UploadArtifact implements [pb.LogServiceServer]: a header naming a digest
// that a logged claim names (or that the header's not yet logged minisign
// entry names; see uploadForEntry), then chunks, streamed into the archive, which
// verifies the digest and size and keeps nothing of a failed upload. An
// upload that sends nothing for UploadIdleTimeout is aborted, and the
// declared sizes of the uploads in progress are bounded by MaxUploadBytes.
func (s *Service) UploadArtifact(stream grpc.ClientStreamingServer[pb.UploadArtifactRequest, pb.UploadArtifactResponse]) error {
	ctx := stream.Context()
	r := &chunkReader{recv: stream.Recv, idle: s.cfg.UploadIdleTimeout}
	defer r.close()
	first, err := r.next()
	if err != nil {
		return s.grpcError(ctx, fmt.Errorf("%w: reading upload header: %w", errBadRequest, err))
	}
	h := first.GetHeader()
	if h == nil {
		return s.grpcError(ctx, fmt.Errorf("%w: the first upload message must be the header", errBadRequest))
	}
	size, err := toInt64("size", h.GetSize())
	if err != nil {
		return s.grpcError(ctx, err)
	}
	ok, err := s.index.HasDigest(s.log.store, h.GetSha256(), s.log.Checkpoint().Size)
	if err != nil {
		return s.grpcError(ctx, fmt.Errorf("%w: sha256 %q: %v", errBadRequest, h.GetSha256(), err))
	}
	if !ok && len(h.GetEntry()) == 0 {
		return s.grpcError(ctx, fmt.Errorf("%w: %s", errUnclaimed, h.GetSha256()))
	}
	if !ok {
		if err := s.uploadForEntry(h.GetSha256(), h.GetEntry()); err != nil {
			return s.grpcError(ctx, err)
		}
	}
	// The archive refuses more than the declared size, so the declared
	// size bounds the temporary file of this upload.
	if !s.uploadBytes.take(size) {
		return s.grpcError(ctx, retryLaterError{reason: fmt.Sprintf("uploads in progress hold the temporary space for %d bytes", s.uploadBytes.max), retry: minRetryDelay})
	}
	defer s.uploadBytes.release(size)
	res, err := s.archive.Put(ctx, h.GetSha256(), size, r)
	if err != nil {
		return s.grpcError(ctx, err)
	}
	return stream.SendAndClose(&pb.UploadArtifactResponse{Sha256: res.Digest.String(), Size: uint64(res.Size), AlreadyStored: res.AlreadyStored})
}

// uploadForEntry admits the upload of an artifact that no logged claim
// names yet, for the v2 entry that will name it: a minisign entry whose
// trusted comment does not name the sha256, so that AddClaim can check
// minisign's signature over the archived file. The entry must verify (its
// global signature), name this digest and pass the allowlist: the same
// bar as logging a claim, after which any upload of its digest is taken.
func (s *Service) uploadForEntry(digest string, entry []byte) error {
	r, err := record.Decode(entry)
	if err != nil {
		return fmt.Errorf("upload header entry: %w", err)
	}
	if !r.FileSignatureUnchecked || r.Subjects[0].SHA256 != digest {
		return fmt.Errorf("%w: %s: the upload header's entry is not a minisign entry whose file-sha256 line names this digest", errUnclaimed, digest)
	}
	return s.allowed(r)
}

// errUploadIdle means an upload sent nothing for the idle timeout.
var errUploadIdle = errors.New("log: upload idle")

// chunkReader reads the chunks of an upload stream as one byte stream. Each
// message must arrive within idle of asking for it: stream.Recv cannot be
// interrupted, so one goroutine receives and the reader waits with a timer.
type chunkReader struct {
	recv func() (*pb.UploadArtifactRequest, error)
	idle time.Duration
	buf  []byte
	err  error // sticky: the error that ended reading

	want    chan struct{}   // asks the receiving goroutine for one message; closed by close
	results chan recvResult // its answers, at most one outstanding
}

type recvResult struct {
	m   *pb.UploadArtifactRequest
	err error
}

// next returns the next message of the stream, or errUploadIdle if none
// arrives within r.idle.
func (r *chunkReader) next() (*pb.UploadArtifactRequest, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.want == nil {
		r.want, r.results = make(chan struct{}), make(chan recvResult, 1)
		go func() {
			// Ends when close closes want, or after a receive error; a
			// receive still blocked after an idle timeout ends with the
			// stream, once the handler has returned.
			for range r.want {
				m, err := r.recv()
				r.results <- recvResult{m, err}
				if err != nil {
					return
				}
			}
		}()
	}
	r.want <- struct{}{}
	t := time.NewTimer(r.idle)
	defer t.Stop()
	select {
	case res := <-r.results:
		if res.err != nil {
			r.err = res.err
		}
		return res.m, res.err
	case <-t.C:
		r.err = fmt.Errorf("%w: nothing received for %v; aborted, nothing was stored", errUploadIdle, r.idle)
		return nil, r.err
	}
}

// close stops the receiving goroutine once it is done with its receive.
func (r *chunkReader) close() {
	if r.want != nil {
		close(r.want)
	}
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		m, err := r.next()
		if err != nil {
			return 0, err // io.EOF when the client closed the stream
		}
		if m.GetHeader() != nil {
			r.err = fmt.Errorf("%w: a second upload header", errBadRequest)
			return 0, r.err
		}
		if len(m.GetChunk()) > maxChunkSize {
			r.err = fmt.Errorf("%w: chunk of %d bytes, at most %d", errBadRequest, len(m.GetChunk()), maxChunkSize)
			return 0, r.err
		}
		r.buf = m.GetChunk()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// GetArtifact implements [pb.LogServiceServer]. The archive re-verifies the
// digest while the bytes stream out; a corrupt object ends the stream with
// an error rather than a clean end.
func (s *Service) GetArtifact(req *pb.GetArtifactRequest, stream grpc.ServerStreamingServer[pb.GetArtifactResponse]) error {
	ctx := stream.Context()
	obj, err := s.archive.Get(req.GetSha256())
	if err != nil {
		return s.grpcError(ctx, err)
	}
	defer obj.Close()
	first := &pb.GetArtifactResponse{Size: uint64(obj.Size())}
	buf := make([]byte, chunkSize)
	for {
		n, err := io.ReadFull(obj, buf)
		if n > 0 || first != nil {
			m := first
			if m == nil {
				m = &pb.GetArtifactResponse{}
			}
			m.Chunk = bytes.Clone(buf[:n])
			first = nil
			if err := stream.Send(m); err != nil {
				return err
			}
		}
		switch err {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return nil
		default:
			return s.grpcError(ctx, err)
		}
	}
}
