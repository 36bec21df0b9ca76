package submit

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/log/claim"
)

// A ClaimFile is a claim file (a DSSE envelope that "attestlog attest"
// writes) read and checked locally.
type ClaimFile struct {
	Path     string
	Envelope []byte // the DSSE envelope as read, without surrounding white space
	Entry    []byte // its canonical entry: what the log must log byte for byte
	Claim    *claim.Claim
}

// ReadClaimFiles reads claim files and checks each one's form, signatures
// and statement, so that a bad claim stops a submission before anything is
// sent. A file that looks like a binary is refused with a hint that it may
// be an artifact.
func ReadClaimFiles(paths []string) ([]ClaimFile, error) {
	out := make([]ClaimFile, len(paths))
	for i, p := range paths {
		if looksBinary(p) {
			return nil, fmt.Errorf("%s looks like a binary, not a claim (a JSON DSSE envelope that attest writes); did you mean --artifact %s?", p, p)
		}
		env, err := client.ReadFileLimited(p, claim.MaxEnvelopeSize)
		if err != nil {
			return nil, err
		}
		env = bytes.TrimSpace(env)
		e, err := claim.ParseEnvelope(env)
		if err == nil {
			_, err = e.Verify()
		}
		var cl *claim.Claim
		if err == nil {
			cl, err = claim.ParseStatement(e.Payload)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out[i] = ClaimFile{Path: p, Envelope: env, Entry: e.Marshal(), Claim: cl}
	}
	return out, nil
}

// looksBinary reports whether the file at path starts like a binary rather
// than text: a NUL byte or invalid UTF-8 in its first 512 bytes. A claim is
// JSON, which has neither. An unreadable file is left to the caller.
func looksBinary(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 512)
	n, _ := io.ReadFull(f, buf)
	head := buf[:n]
	if n == len(buf) { // the limit may have cut the last rune
		for i := n - 1; i >= 0 && i >= n-utf8.UTFMax; i-- {
			if utf8.RuneStart(head[i]) {
				if !utf8.FullRune(head[i:]) {
					head = head[:i]
				}
				break
			}
		}
	}
	return bytes.IndexByte(head, 0) >= 0 || !utf8.Valid(head)
}

// An Artifact is a file to upload to a log's archive, hashed before it is
// sent.
type Artifact struct {
	Path   string
	SHA256 string // lowercase hex
	Size   int64
	// Entry is the v2 entry, not yet logged, that needs the file in the
	// archive first ([Entry.NeedsUpload]); nil for the others.
	Entry []byte
}

// HashArtifacts hashes the files at paths and checks that digests, the
// subjects of the claims submitted with them, name each one: a log
// archives no other file.
func HashArtifacts(paths []string, digests []string) ([]Artifact, error) {
	named := map[string]bool{}
	for _, d := range digests {
		named[d] = true
	}
	out := make([]Artifact, len(paths))
	for i, p := range paths {
		d, size, err := client.HashFile(p)
		if err != nil {
			return nil, fmt.Errorf("hashing artifact: %w", err)
		}
		if !named[d] {
			return nil, fmt.Errorf("artifact %s (sha256 %s) is not named by any submitted claim", p, d)
		}
		out[i] = Artifact{Path: p, SHA256: d, Size: size}
	}
	return out, nil
}
