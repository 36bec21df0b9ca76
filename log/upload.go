package log

import (
	"bytes"
	"fmt"
	"io"

	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"google.golang.org/grpc"
)

// UploadArtifact implements [pb.LogServiceServer]: a header naming a digest
// that a logged claim names, then chunks, streamed into the archive, which
// verifies the digest and size and keeps nothing of a failed upload.
func (s *Service) UploadArtifact(stream grpc.ClientStreamingServer[pb.UploadArtifactRequest, pb.UploadArtifactResponse]) error {
	ctx := stream.Context()
	first, err := stream.Recv()
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
	if !ok {
		return s.grpcError(ctx, fmt.Errorf("%w: %s", errUnclaimed, h.GetSha256()))
	}
	res, err := s.archive.Put(ctx, h.GetSha256(), size, &chunkReader{recv: stream.Recv})
	if err != nil {
		return s.grpcError(ctx, err)
	}
	return stream.SendAndClose(&pb.UploadArtifactResponse{Sha256: res.Digest.String(), Size: uint64(res.Size), AlreadyStored: res.AlreadyStored})
}

// chunkReader reads the chunks of an upload stream as one byte stream.
type chunkReader struct {
	recv func() (*pb.UploadArtifactRequest, error)
	buf  []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		m, err := r.recv()
		if err != nil {
			return 0, err // io.EOF when the client closed the stream
		}
		if m.GetHeader() != nil {
			return 0, fmt.Errorf("%w: a second upload header", errBadRequest)
		}
		if len(m.GetChunk()) > maxChunkSize {
			return 0, fmt.Errorf("%w: chunk of %d bytes, at most %d", errBadRequest, len(m.GetChunk()), maxChunkSize)
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
