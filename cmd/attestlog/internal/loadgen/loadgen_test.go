package loadgen

import (
	"testing"

	"github.com/attestlog/attestlog/log/claim"
)

// claimsBy returns, for each artifact digest of envs, the signers of its
// claims, checking that every claim verifies.
func claimsBy(t *testing.T, envs [][]byte) map[string]map[string]bool {
	t.Helper()
	by := map[string]map[string]bool{}
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
		d := st.Subjects[0].SHA256
		if by[d] == nil {
			by[d] = map[string]bool{}
		}
		for _, v := range vkeys {
			by[d][v.Name()] = true
		}
	}
	return by
}

func TestSignedClaims(t *testing.T) {
	envs, err := SignedClaims(3, 7)
	if err != nil {
		t.Fatal(err)
	}
	by := claimsBy(t, envs)
	signers := map[string]bool{}
	for _, s := range by {
		for v := range s {
			signers[v] = true
		}
	}
	if len(by) != 7 || len(signers) != 3 {
		t.Errorf("SignedClaims(3, 7) made %d digests by %d signers, want 7 by 3", len(by), len(signers))
	}
}

// TestAgreedClaims checks that each build is attested by as many
// different builders as asked, and that more than there are is refused.
func TestAgreedClaims(t *testing.T) {
	envs, err := AgreedClaims(4, 3, 9)
	if err != nil {
		t.Fatal(err)
	}
	by := claimsBy(t, envs)
	if len(by) != 3 {
		t.Fatalf("AgreedClaims(4, 3, 9) made %d builds, want 3", len(by))
	}
	for d, s := range by {
		if len(s) != 3 {
			t.Errorf("build %s attested by %d builders, want 3", d, len(s))
		}
	}
	if _, err := AgreedClaims(2, 3, 9); err == nil {
		t.Error("AgreedClaims(2 builders, 3 a build) succeeded")
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
