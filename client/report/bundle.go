package report

import (
	"fmt"
	"io"

	"github.com/attestlog/attestlog/client"
)

// PrintBundleWritten says what the bundle b written to path holds, whether
// it was verified, and the remembered tree size from which it proves
// consistency (0: none); when verified, a line per claim naming it.
func PrintBundleWritten(w io.Writer, path string, b *client.Bundle, from int64, verified bool) error {
	cp, err := client.NoteCheckpoint(b.Checkpoint)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s: sha256 %s, %s naming it and %d more about its builds, proven against %s tree size %d\n",
		TermSafe(path), TermSafe(b.Digest), Count(len(b.Claims), "claim", "claims"), len(b.SourceClaims), TermSafe(cp.Origin), cp.Size)
	if !verified {
		fmt.Fprintln(w, "NOT VERIFIED (--unverified): no proof, signature, witness quorum or builder was checked; \"attestlog verify --bundle\" checks it")
	} else if len(b.Claims) > 0 {
		fmt.Fprintln(w, "claims naming it:")
		if err := PrintClaimLines(w, b.Claims, b.Digest); err != nil {
			return err
		}
	}
	if from > 0 && from != cp.Size {
		fmt.Fprintf(w, "with a consistency proof between the remembered tree size %d and %d\n", from, cp.Size)
	}
	return nil
}
