package client

import (
	"context"
	"fmt"
	"os"
)

// RememberedSize returns the tree size of the checkpoint s remembers for
// origin, or 0 if it remembers none. The note was verified when it was
// remembered.
func (s *State) RememberedSize(origin string) (int64, error) {
	msg, err := s.Checkpoint(origin)
	if err != nil || msg == nil {
		return 0, err
	}
	cp, err := NoteCheckpoint(msg)
	if err != nil {
		return 0, fmt.Errorf("remembered checkpoint of %s: %w", origin, err)
	}
	return cp.Size, nil
}

// copyFor returns a State in a new temporary directory that remembers
// what s remembers for origin. The caller removes its directory.
func (s *State) copyFor(origin string) (*State, error) {
	msg, err := s.Checkpoint(origin)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "attestlog-bundle-state-")
	if err != nil {
		return nil, err
	}
	c := &State{dir: dir}
	if msg != nil {
		if err := os.WriteFile(c.path(origin), msg, 0o600); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	return c, nil
}

// VerifyBundleData verifies the bundle file data offline under p, as
// Verify with a [BundleSource] of it does, before the bundle is handed
// out. With st, it verifies against a copy of the checkpoint st remembers,
// and st stays as it is. A parse error of data is returned as it is; the
// others say "verifying".
func VerifyBundleData(ctx context.Context, p *Policy, st *State, data []byte, digest string) (*Verdict, error) {
	b, err := ParseBundle(data)
	if err != nil {
		return nil, err
	}
	var opts VerifyOptions
	if st != nil {
		cp, err := NoteCheckpoint(b.Checkpoint)
		if err != nil {
			return nil, err
		}
		if opts.State, err = st.copyFor(cp.Origin); err != nil {
			return nil, err
		}
		defer os.RemoveAll(opts.State.Dir())
	}
	v, err := Verify(ctx, p, BundleSource{Bundle: b}, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("verifying: %w", err)
	}
	return v, nil
}

// FetchBundle returns the bundle of digest from src ([NewBundle]) and,
// with st, adds the consistency proof from the tree size st remembers for
// the bundle's log ([Bundle.AddConsistencyProof]), which it returns as
// from: 0 without st or if st remembers nothing, so that a verifier holding
// that state can use the bundle offline.
func FetchBundle(ctx context.Context, src Source, digest string, st *State) (b *Bundle, from int64, err error) {
	if b, err = NewBundle(ctx, src, digest); err != nil {
		return nil, 0, err
	}
	cp, err := NoteCheckpoint(b.Checkpoint)
	if err != nil {
		return nil, 0, fmt.Errorf("the log's checkpoint: %w", err)
	}
	if st == nil {
		return b, 0, nil
	}
	if from, err = st.RememberedSize(cp.Origin); err != nil {
		return nil, 0, err
	}
	return b, from, b.AddConsistencyProof(ctx, src, from)
}
