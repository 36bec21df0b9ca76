package grpcsource

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/attestlog/attestlog/client/forensics"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var _ forensics.ArtifactSource = (*Source)(nil)

// Artifact implements [forensics.ArtifactSource] with GetArtifact: it
// returns the size the log announced and a reader of the stream's chunks
// that fails if the log sends more or fewer bytes. An artifact the archive
// does not hold is [forensics.ErrNotArchived]; a damaged copy (DataLoss)
// is described as one its operator can repair.
func (s *Source) Artifact(ctx context.Context, sha256 string) (int64, io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	st, err := s.c.GetArtifact(ctx, &pb.GetArtifactRequest{Sha256: sha256})
	if err != nil {
		cancel()
		return 0, nil, describeArtifactError(err)
	}
	first, err := st.Recv()
	if err == nil && first.GetSize() > math.MaxInt64 {
		err = fmt.Errorf("size %d is larger than 2^63-1", first.GetSize())
	}
	if err != nil {
		cancel()
		if status.Code(err) == codes.NotFound {
			return 0, nil, forensics.ErrNotArchived
		}
		return 0, nil, describeArtifactError(err)
	}
	r := &artifactReader{st: st, cancel: cancel, want: int64(first.GetSize())}
	if err := r.take(first); err != nil {
		cancel()
		return 0, nil, err
	}
	return r.want, r, nil
}

// describeArtifactError explains the gRPC status of a failed download.
func describeArtifactError(err error) error {
	if status.Code(err) == codes.DataLoss {
		return fmt.Errorf("the log's archived copy is damaged (%w); its operator can repair it by uploading the right bytes again", err)
	}
	return err
}

// An artifactReader reads the chunks of a GetArtifact stream and checks
// the size its first message announced.
type artifactReader struct {
	st     pb.LogService_GetArtifactClient
	cancel context.CancelFunc
	chunk  []byte // what Read has not returned of the latest chunk
	n      int64  // bytes received
	want   int64
	eof    bool
}

func (r *artifactReader) Read(p []byte) (int, error) {
	for len(r.chunk) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	k := copy(p, r.chunk)
	r.chunk = r.chunk[k:]
	return k, nil
}

// take makes m's chunk the next to read.
func (r *artifactReader) take(m *pb.GetArtifactResponse) error {
	if r.n += int64(len(m.GetChunk())); r.n > r.want {
		return fmt.Errorf("the log sent more than the %d bytes it announced", r.want)
	}
	r.chunk = m.GetChunk()
	return nil
}

// next receives the next chunk, or sets eof at the end of the stream if
// the log sent the bytes it announced.
func (r *artifactReader) next() error {
	m, err := r.st.Recv()
	switch {
	case err == io.EOF && r.n != r.want:
		return fmt.Errorf("the log sent %d bytes, announced %d", r.n, r.want)
	case err == io.EOF:
		r.eof = true
		return nil
	case err != nil:
		return describeArtifactError(err)
	}
	return r.take(m)
}

func (r *artifactReader) Close() error {
	r.cancel()
	return nil
}
