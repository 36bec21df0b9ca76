package loadgen

import (
	"testing"

	"github.com/attestlog/attestlog/log/claim"
)

func TestSignedClaims(t *testing.T) {
	envs, err := SignedClaims(3, 7)
	if err != nil {
		t.Fatal(err)
	}
	digests, signers := map[string]bool{}, map[string]bool{}
	for _, env := range envs {
		e, err := claim.ParseEnvelope(env)
		if err != nil {
			t.Fatal(err)
		}
		vkeys, err := e.Verify()
		if err != nil {
			t.Fatalf("claim does not verify: %v", err)
		}
		st, err := claim.ParseStatement(e.Payload)
		if err != nil {
			t.Fatal(err)
		}
		digests[st.Subjects[0].SHA256] = true
		for _, v := range vkeys {
			signers[v.Name()] = true
		}
	}
	if len(digests) != 7 || len(signers) != 3 {
		t.Errorf("SignedClaims(3, 7) made %d digests by %d signers, want 7 by 3", len(digests), len(signers))
	}
}

func TestCheckpointSize(t *testing.T) {
	if n, err := checkpointSize([]byte("example.com/log\n42\nAAAA=\n\n— sig\n")); err != nil || n != 42 {
		t.Errorf("checkpointSize = %d, %v, want 42", n, err)
	}
	if _, err := checkpointSize([]byte("example.com/log\nx\n")); err == nil {
		t.Errorf("checkpointSize of a bad size line succeeded")
	}
}
