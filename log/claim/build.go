package claim

import (
	"encoding/json"
	"fmt"

	"golang.org/x/mod/sumdb/note"
)

// BuildType is the SLSA buildType of claims that attestlog's tools make.
const BuildType = "https://attestlog.dev/build/v1"

// NewStatement returns the in-toto Statement (the DSSE payload) of c, in the
// profile of the package doc, and checks that it parses back to c.
func NewStatement(c *Claim) ([]byte, error) {
	type digest map[string]string
	subjects := make([]map[string]any, len(c.Subjects))
	for i, s := range c.Subjects {
		subjects[i] = map[string]any{"name": s.Name, "digest": digest{"sha256": s.SHA256}}
	}
	uri := c.Source
	if c.SourceRef != "" {
		uri += "@" + c.SourceRef
	}
	st := map[string]any{
		"_type":         StatementType,
		"subject":       subjects,
		"predicateType": ProvenanceType,
		"predicate": map[string]any{
			"buildDefinition": map[string]any{
				"buildType": BuildType,
				"externalParameters": map[string]any{
					"recipe":   map[string]any{"digest": digest{"sha256": c.Recipe}},
					"platform": c.Platform,
				},
				"resolvedDependencies": []any{map[string]any{"uri": uri, "digest": digest{"gitCommit": c.Commit}}},
			},
			"runDetails": map[string]any{"builder": map[string]any{"id": c.BuilderID}},
		},
	}
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("claim: encoding statement: %w", err)
	}
	if _, err := ParseStatement(b); err != nil {
		return nil, err
	}
	return b, nil
}

// A Key is a builder's signing key with its verifier key text.
type Key struct {
	Signer note.Signer
	VKey   string
}

// SignStatement signs a statement with each key and returns the entry.
func SignStatement(statement []byte, keys ...Key) (*Entry, error) {
	sigs := make([]Signature, len(keys))
	for i, k := range keys {
		s, err := Sign(k.Signer, k.VKey, PayloadType, statement)
		if err != nil {
			return nil, err
		}
		sigs[i] = s
	}
	return NewEntry(PayloadType, statement, sigs)
}
