package grpcsource_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client/forensics"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// artifactServer answers GetArtifact with size, then chunks, or err.
type artifactServer struct {
	pb.UnimplementedLogServiceServer
	size   uint64
	chunks []string
	err    error
}

func (s *artifactServer) GetArtifact(_ *pb.GetArtifactRequest, st grpc.ServerStreamingServer[pb.GetArtifactResponse]) error {
	if s.err != nil {
		return s.err
	}
	for i, c := range s.chunks {
		m := &pb.GetArtifactResponse{Chunk: []byte(c)}
		if i == 0 {
			m.Size = s.size
		}
		if err := st.Send(m); err != nil {
			return err
		}
	}
	return nil
}

func TestArtifact(t *testing.T) {
	for _, tt := range []struct {
		name    string
		srv     *artifactServer
		want    string
		wantErr string
	}{
		{"whole", &artifactServer{size: 6, chunks: []string{"abc", "", "def"}}, "abcdef", ""},
		{"empty", &artifactServer{size: 0, chunks: []string{""}}, "", ""},
		{"more in the first chunk", &artifactServer{size: 2, chunks: []string{"abc"}}, "", "more than the 2 bytes it announced"},
		{"more later", &artifactServer{size: 4, chunks: []string{"abc", "def"}}, "", "more than the 4 bytes it announced"},
		{"fewer", &artifactServer{size: 9, chunks: []string{"abc", "def"}}, "", "the log sent 6 bytes, announced 9"},
		{"too large", &artifactServer{size: 1 << 63, chunks: []string{"a"}}, "", "larger than 2^63-1"},
		{"damaged", &artifactServer{err: status.Error(codes.DataLoss, "digest mismatch")}, "", "archived copy is damaged"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			size, r, err := mismatchSource(t, tt.srv).Artifact(t.Context(), "x")
			var got []byte
			if err == nil {
				got, err = io.ReadAll(r)
				r.Close()
			}
			switch {
			case tt.wantErr == "" && (err != nil || string(got) != tt.want || size != int64(len(tt.want))):
				t.Errorf("Artifact = %d, %q, %v, want %q", size, got, err, tt.want)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Artifact = %q, %v, want error containing %q", got, err, tt.wantErr)
			}
		})
	}
	_, _, err := mismatchSource(t, &artifactServer{err: status.Error(codes.NotFound, "no")}).Artifact(t.Context(), "x")
	if !errors.Is(err, forensics.ErrNotArchived) {
		t.Errorf("Artifact of an artifact not archived = %v, want ErrNotArchived", err)
	}
}
