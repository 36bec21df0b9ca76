package tiles

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// ErrMalformedPolicy is wrapped by every error of [ParsePolicy]; the message
// names the line.
var ErrMalformedPolicy = errors.New("tiles: malformed policy")

// Limits on a policy's size, above the spec's recommended minimum of 32 each.
const (
	MaxPolicyLogs      = 64
	MaxPolicyWitnesses = 256
	MaxPolicyGroups    = 256
)

// A Policy is a parsed c2sp.org/tlog-policy file: the logs and witnesses a
// verifier knows, and the quorum of witnesses a checkpoint needs.
type Policy struct {
	Logs      []PolicyLog
	Witnesses []PolicyWitness
	Groups    []PolicyGroup
	Quorum    string // a witness or group name, or "none"
	// Extensions are lines with a keyword the caller asked ParsePolicy to
	// pass through (attestlog's builder lines), in file order.
	Extensions []PolicyLine
}

// A PolicyLog is a "log <vkey> [<url>]" line.
type PolicyLog struct {
	VKey     string
	URL      string // empty if none
	Verifier note.Verifier
}

// Origin returns the log's origin, its key name.
func (l PolicyLog) Origin() string { return l.Verifier.Name() }

// A PolicyWitness is a "witness <name> <vkey> [<url>]" line; the vkey is an
// Ed25519 cosignature/v1 key (type 0x04).
type PolicyWitness struct {
	Name     string
	VKey     string
	URL      string // the witness's submission prefix; empty if none
	Verifier note.Verifier
}

// A PolicyGroup is a "group <name> all|any|<k> <member>..." line, with k resolved.
type PolicyGroup struct {
	Name    string
	K       int
	Members []string
}

// A PolicyLine is an extension line: its 1-based line number and its fields.
type PolicyLine struct {
	Line   int
	Fields []string
}

// ParsePolicy parses a c2sp.org/tlog-policy file. Lines whose first field is
// one of extensions are returned in [Policy.Extensions] for the caller to
// interpret; any other unknown keyword is an error. It refuses what the spec
// forbids and also the same public key listed twice under any names, names
// used before they are defined, and a missing or second quorum line.
func ParsePolicy(b []byte, extensions ...string) (*Policy, error) {
	p := &Policy{}
	defined := map[string]bool{"none": true}
	var keys [][]byte // raw public keys seen, to refuse duplicates
	quorums := 0
	for n, raw := range bytes.Split(b, []byte("\n")) {
		lineNo := n + 1
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: line %d: %s", ErrMalformedPolicy, lineNo, fmt.Sprintf(format, args...))
		}
		for _, c := range raw {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return nil, bad("control character 0x%02x", c)
			}
		}
		fields := strings.FieldsFunc(string(raw), func(r rune) bool { return r == ' ' || r == '\t' })
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch kw, args := fields[0], fields[1:]; kw {
		case "log":
			if len(args) < 1 || len(args) > 2 {
				return nil, bad("want \"log <vkey> [<url>]\"")
			}
			v, pub, err := logVerifier(args[0])
			if err != nil {
				return nil, bad("%v", err)
			}
			u, err := policyURL(args[1:])
			if err != nil {
				return nil, bad("%v", err)
			}
			if containsKey(keys, pub) {
				return nil, bad("public key of %s is listed twice", args[0])
			}
			keys = append(keys, pub)
			p.Logs = append(p.Logs, PolicyLog{VKey: args[0], URL: u, Verifier: v})
			if len(p.Logs) > MaxPolicyLogs {
				return nil, bad("more than %d logs", MaxPolicyLogs)
			}
		case "witness":
			if len(args) < 2 || len(args) > 3 {
				return nil, bad("want \"witness <name> <vkey> [<url>]\"")
			}
			if defined[args[0]] {
				return nil, bad("name %q defined twice", args[0])
			}
			v, pub, err := witnessVerifier(args[1])
			if err != nil {
				return nil, bad("%v", err)
			}
			u, err := policyURL(args[2:])
			if err != nil {
				return nil, bad("%v", err)
			}
			if containsKey(keys, pub) {
				return nil, bad("public key of %s is listed twice", args[1])
			}
			keys = append(keys, pub)
			defined[args[0]] = true
			p.Witnesses = append(p.Witnesses, PolicyWitness{Name: args[0], VKey: args[1], URL: u, Verifier: v})
			if len(p.Witnesses) > MaxPolicyWitnesses {
				return nil, bad("more than %d witnesses", MaxPolicyWitnesses)
			}
		case "group":
			g, err := parseGroup(args, defined)
			if err != nil {
				return nil, bad("%v", err)
			}
			defined[g.Name] = true
			p.Groups = append(p.Groups, g)
			if len(p.Groups) > MaxPolicyGroups {
				return nil, bad("more than %d groups", MaxPolicyGroups)
			}
		case "quorum":
			if quorums++; quorums > 1 {
				return nil, bad("a second quorum line")
			}
			if len(args) != 1 {
				return nil, bad("want \"quorum <name>\"")
			}
			if !defined[args[0]] {
				return nil, bad("quorum %q is not a witness or group defined on an earlier line", args[0])
			}
			p.Quorum = args[0]
		default:
			if !contains(extensions, kw) {
				return nil, bad("unknown keyword %q", kw)
			}
			p.Extensions = append(p.Extensions, PolicyLine{Line: lineNo, Fields: fields})
		}
	}
	if quorums == 0 {
		return nil, fmt.Errorf("%w: no quorum line (write \"quorum none\" to require no witnesses)", ErrMalformedPolicy)
	}
	return p, nil
}

func parseGroup(args []string, defined map[string]bool) (PolicyGroup, error) {
	if len(args) > 0 && args[0] == "none" {
		return PolicyGroup{}, errors.New(`name "none" is reserved`)
	}
	return ParseGroup("group", "witness or group", args, func(name string) bool { return name != "none" && defined[name] })
}

// ParseGroup parses the fields after the keyword of a threshold group line,
// "<name> all|any|<k> <member>...", which tlog-policy's group lines and
// attestlog's builders lines share: at least one member, each defined
// (defined reports it) and listed once, 1 <= k <= n with no leading zeros,
// and a name not yet defined. keyword and what (the kind of member) word
// its errors.
func ParseGroup(keyword, what string, args []string, defined func(string) bool) (PolicyGroup, error) {
	if len(args) < 3 {
		return PolicyGroup{}, fmt.Errorf("want \"%s <name> all|any|<k> <member>...\"", keyword)
	}
	g := PolicyGroup{Name: args[0], Members: args[2:]}
	if defined(g.Name) {
		return g, fmt.Errorf("name %q defined twice", g.Name)
	}
	seen := map[string]bool{}
	for _, m := range g.Members {
		switch {
		case !defined(m):
			return g, fmt.Errorf("member %q is not a %s defined on an earlier line", m, what)
		case seen[m]:
			return g, fmt.Errorf("member %q listed twice", m)
		}
		seen[m] = true
	}
	switch args[1] {
	case "all":
		g.K = len(g.Members)
	case "any":
		g.K = 1
	default:
		k, ok := parseDecimal(args[1], int64(len(g.Members)))
		if !ok || k < 1 {
			return g, fmt.Errorf("threshold %q is not all, any or a decimal from 1 to %d", args[1], len(g.Members))
		}
		g.K = int(k)
	}
	return g, nil
}

func policyURL(args []string) (string, error) {
	if len(args) == 0 {
		return "", nil
	}
	u, err := url.Parse(args[0])
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http or https URL", args[0])
	}
	return args[0], nil
}

// VKeyPublicKey returns the type byte and the public key a signed-note
// verifier key wraps, "<name>+<hex id>+<base64(type || key)>", accepting
// only canonical base64. It does not check the key ID: it is for comparing
// keys, as tlog-policy requires when it refuses one key listed twice.
func VKeyPublicKey(vkey string) (byte, []byte, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return 0, nil, fmt.Errorf("%q is not a vkey (<name>+<hex id>+<base64 key>)", vkey)
	}
	k, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(k) < 2 || base64.StdEncoding.EncodeToString(k) != parts[2] {
		return 0, nil, fmt.Errorf("vkey %q: key is not canonical base64", vkey)
	}
	return k[0], k[1:], nil
}

// logVerifier returns the verifier of a log's Ed25519 checkpoint key (type 0x01).
func logVerifier(vkey string) (note.Verifier, []byte, error) {
	t, pub, err := VKeyPublicKey(vkey)
	if err != nil {
		return nil, nil, err
	}
	if t != 0x01 {
		return nil, nil, fmt.Errorf("log vkey %q has key type 0x%02x, want 0x01 (Ed25519)", vkey, t)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, nil, fmt.Errorf("log vkey %q: %v", vkey, err)
	}
	return v, pub, nil
}

// witnessVerifier returns the verifier of a witness's Ed25519 cosignature/v1 key (type 0x04).
func witnessVerifier(vkey string) (note.Verifier, []byte, error) {
	t, pub, err := VKeyPublicKey(vkey)
	if err != nil {
		return nil, nil, err
	}
	if t != 0x04 {
		return nil, nil, fmt.Errorf("witness vkey %q has key type 0x%02x, want 0x04 (Ed25519 cosignature/v1)", vkey, t)
	}
	v, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		return nil, nil, fmt.Errorf("witness vkey %q: %v", vkey, err)
	}
	if id, _ := strconv.ParseUint(strings.SplitN(vkey, "+", 3)[1], 16, 32); uint32(id) != v.KeyHash() {
		return nil, nil, fmt.Errorf("witness vkey %q: key ID does not match the key", vkey)
	}
	return v, pub, nil
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, have := range keys {
		if bytes.Equal(have, k) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Satisfied reports whether the witnesses named in cosigned meet the quorum.
func (p *Policy) Satisfied(cosigned map[string]bool) bool {
	return p.Quorum == "none" || p.witnessed(p.Quorum, cosigned)
}

func (p *Policy) witnessed(name string, cosigned map[string]bool) bool {
	for _, g := range p.Groups {
		if g.Name == name {
			n := 0
			for _, m := range g.Members {
				if p.witnessed(m, cosigned) {
					n++
				}
			}
			return n >= g.K
		}
	}
	return cosigned[name]
}
