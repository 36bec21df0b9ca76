package client

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/claim/record"
	"github.com/attestlog/attestlog/log/claim/scheme"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/note"
)

// Limits on the builder lines of a policy.
const (
	MaxPolicyBuilderKeys   = 1024 // builder lines
	MaxPolicyBuilderGroups = 256  // builders lines
)

// A Policy is what a verifier trusts: the logs, witnesses and witness quorum
// of a c2sp.org/tlog-policy file, and the builders whose claims count, with
// the rule for how many of them must agree. See [ParsePolicy] for the file.
// A Policy is not modified after parsing and is safe for concurrent use.
type Policy struct {
	// TLog is the c2sp.org/tlog-policy part: logs, witnesses, witness groups
	// and the witness quorum a checkpoint needs.
	TLog *tiles.Policy
	// Builders are the trusted build identities, in order of their first line.
	Builders []Builder
	// Groups are the "builders" lines, in file order.
	Groups []BuilderGroup
	// Agree names the builder or builders group whose agreement a digest needs.
	Agree string

	byKey   map[string]builderKey // raw Ed25519 public key of a signed-note key -> builder and key
	byTrust map[string]builderKey // record.TrustKey of any other key -> builder and key
}

// A Builder is one trusted build identity: all "builder" lines with one name.
// However many keys and claims it has, it gets one vote.
type Builder struct {
	Name string
	Keys []BuilderKey // in file order
}

// A BuilderKey is one "builder" line: a key of any scheme.
type BuilderKey struct {
	// VKey is the key's text: for a signed-note key its canonical vkey,
	// for any other scheme "<scheme> <canonical key text>" (scheme.Format).
	VKey   string
	Line   int           // 1-based line number in the policy file
	Scheme scheme.Scheme // the key's scheme
	KeyID  string        // the key's canonical ID in its scheme
	// Verifier verifies a signed-note key; nil for other schemes.
	Verifier note.Verifier
	// Key is the parsed key of any scheme.
	Key scheme.Verifier
}

// Name returns how a key is shown: a signed-note key by its name, any
// other by "<scheme>:<key ID>".
func (k BuilderKey) Name() string {
	if k.Scheme == scheme.Note {
		return keyName(k.VKey)
	}
	return string(k.Scheme) + ":" + k.KeyID
}

// A BuilderGroup is a "builders <name> all|any|<k> <member>..." line, with k resolved.
type BuilderGroup struct {
	Name    string
	K       int      // members that must agree, 1 to len(Members)
	Members []string // builder or builders-group names defined on earlier lines
	Line    int
}

type builderKey struct {
	builder int // index in Policy.Builders
	key     int // index in Builder.Keys
}

// ParsePolicy parses a policy file: c2sp.org/tlog-policy (parsed by
// [tiles.ParsePolicy]) extended with three kinds of line, whose fields are
// separated by spaces or tabs:
//
//	builder  <name> <vkey>
//	builder  <name> <scheme> <key>
//	builder  <name> <scheme> @<file>
//	builders <name> all|any|<k> <member>...
//	agree    <name>
//
// A builder line trusts a builder key as the identity name: a signed-note
// Ed25519 vkey in the canonical form [claim.ParseVKey] accepts (the form
// before issue 11, scheme note), or a key of any scheme of
// log/claim/scheme (note, openpgp, minisign, ssh, ed25519, ecdsa-p256) in
// its canonical text, or a key file as its tool writes it (an OpenPGP
// certificate, a minisign .pub, an authorized_keys line, a PEM), named
// relative to the policy file; only [ParsePolicyFile] reads key files.
// Several lines with one name give one identity several keys, of any
// schemes, and it still votes once. A builders line
// defines a group that agrees when k of its members do ("all" is every
// member, "any" is one); members are builders or builders groups defined on
// earlier lines, each listed once. The one agree line names the builder or
// builders group whose agreement a digest needs.
//
// Comments are whole lines starting with "#", as in tlog-policy; builder,
// builders and agree lines may also end in a comment ("# ..."). Builder and
// builders-group names share one namespace, apart from witness and group
// names but not allowed to collide with them. ParsePolicy refuses the same
// public key listed twice under any name or role (log, witness, builder):
// Ed25519 keys (signed-note vkeys and raw ed25519 keys) are compared as raw
// public keys, not as text, and every key by (scheme, key ID). Errors
// wrap [tiles.ErrMalformedPolicy] and name the line.
func ParsePolicy(b []byte) (*Policy, error) {
	return parsePolicy(b, nil)
}

// ParsePolicyFile reads and parses the policy file at path, as
// [ParsePolicy] does, reading the key files its builder lines name
// ("@<file>") relative to the policy file's directory. Errors start with
// path.
func ParsePolicyFile(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: client: reading policy: %w", path, err)
	}
	dir := filepath.Dir(path)
	p, err := parsePolicy(b, func(name string) ([]byte, error) {
		if !filepath.IsLocal(name) {
			return nil, fmt.Errorf("key file %q is not a path inside the policy file's directory", name)
		}
		return os.ReadFile(filepath.Join(dir, name))
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func parsePolicy(b []byte, readFile func(string) ([]byte, error)) (*Policy, error) {
	tp, err := tiles.ParsePolicy(b, "builder", "builders", "agree")
	if err != nil {
		return nil, err
	}
	p := &Policy{TLog: tp, byKey: map[string]builderKey{}, byTrust: map[string]builderKey{}}
	taken := map[string]string{} // raw public key -> what it is, for messages
	for _, l := range tp.Logs {
		taken[string(rawKey(l.VKey))] = "the log " + l.Origin()
	}
	for _, w := range tp.Witnesses {
		taken[string(rawKey(w.VKey))] = "witness " + w.Name
	}
	witnessNames := map[string]bool{"none": true}
	for _, w := range tp.Witnesses {
		witnessNames[w.Name] = true
	}
	for _, g := range tp.Groups {
		witnessNames[g.Name] = true
	}
	builders := map[string]int{} // name -> index in p.Builders
	groups := map[string]bool{}
	agreeLine := 0
	for _, line := range tp.Extensions {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: line %d: %s", tiles.ErrMalformedPolicy, line.Line, fmt.Sprintf(format, args...))
		}
		kw, args := line.Fields[0], line.Fields[1:]
		for i, f := range args {
			if strings.HasPrefix(f, "#") {
				args = args[:i] // a trailing comment, as DOMAIN.md's example writes them
				break
			}
		}
		if kw != "agree" && len(args) > 0 && witnessNames[args[0]] {
			return nil, bad("name %q is already a witness or group name", args[0])
		}
		switch kw {
		case "builder":
			if len(args) < 2 {
				return nil, bad("want \"builder <name> <vkey>\" or \"builder <name> <scheme> <key>\"")
			}
			if groups[args[0]] {
				return nil, bad("name %q is already a builders group", args[0])
			}
			k, err := record.ParseBuilderKey(args[1:], readFile)
			if err != nil {
				return nil, bad("builder %s: %v", args[0], err)
			}
			bk := BuilderKey{VKey: scheme.Format(k), Line: line.Line, Scheme: k.Scheme(), KeyID: k.KeyID(), Key: k}
			if k.Scheme() == scheme.Note {
				bk.VKey = k.String()
				if bk.Verifier, err = claim.ParseVKey(bk.VKey); err != nil {
					return nil, bad("builder %s: %v", args[0], err)
				}
			}
			for _, id := range []string{string(rawEd25519(k)), string(k.Scheme()) + " " + k.KeyID()} {
				if what, ok := taken[id]; ok && id != "" {
					return nil, bad("%s key %s is already the key of %s", k.Scheme(), bk.Name(), what)
				}
			}
			if raw := rawEd25519(k); raw != nil {
				taken[string(raw)] = "builder " + args[0]
			}
			taken[string(k.Scheme())+" "+k.KeyID()] = "builder " + args[0]
			i, ok := builders[args[0]]
			if !ok {
				i = len(p.Builders)
				builders[args[0]] = i
				p.Builders = append(p.Builders, Builder{Name: args[0]})
			}
			ref := builderKey{builder: i, key: len(p.Builders[i].Keys)}
			if k.Scheme() == scheme.Note {
				p.byKey[string(rawEd25519(k))] = ref
			} else {
				p.byTrust[record.TrustKey(k)] = ref
			}
			p.Builders[i].Keys = append(p.Builders[i].Keys, bk)
			if len(p.byKey)+len(p.byTrust) > MaxPolicyBuilderKeys {
				return nil, bad("more than %d builder keys", MaxPolicyBuilderKeys)
			}
		case "builders":
			g, err := parseBuilderGroup(args, func(n string) bool { _, ok := builders[n]; return ok || groups[n] })
			if err != nil {
				return nil, bad("%v", err)
			}
			g.Line = line.Line
			groups[g.Name] = true
			p.Groups = append(p.Groups, g)
			if len(p.Groups) > MaxPolicyBuilderGroups {
				return nil, bad("more than %d builders groups", MaxPolicyBuilderGroups)
			}
		case "agree":
			if agreeLine != 0 {
				return nil, bad("a second agree line (the first is line %d)", agreeLine)
			}
			if len(args) != 1 {
				return nil, bad("want \"agree <name>\"")
			}
			if _, ok := builders[args[0]]; !ok && !groups[args[0]] {
				return nil, bad("agree %q is not a builder or builders group defined on an earlier line", args[0])
			}
			agreeLine, p.Agree = line.Line, args[0]
		}
	}
	if agreeLine == 0 {
		return nil, fmt.Errorf("%w: no agree line: name the builder or builders group that must agree", tiles.ErrMalformedPolicy)
	}
	return p, nil
}

func parseBuilderGroup(args []string, defined func(string) bool) (BuilderGroup, error) {
	g, err := tiles.ParseGroup("builders", "builder or builders group", args, defined)
	return BuilderGroup{Name: g.Name, K: g.K, Members: g.Members}, err
}

// rawEd25519 returns the raw Ed25519 public key of a signed-note or raw
// ed25519 key, and nil for other schemes: one Ed25519 key is one key in
// every role, whatever its text.
func rawEd25519(k scheme.Verifier) []byte {
	switch k.Scheme() {
	case scheme.Note:
		return rawKey(k.String())
	case scheme.Ed25519:
		b, _ := hex.DecodeString(k.String())
		return b
	}
	return nil
}

// rawKey returns the public key a vkey wraps, without its type byte, or nil
// if the vkey is malformed. Callers pass vkeys a parser already accepted.
func rawKey(vkey string) []byte {
	_, k, err := tiles.VKeyPublicKey(vkey)
	if err != nil {
		return nil
	}
	return k
}

// Builder returns the name of the trusted identity whose key vkey wraps, and
// the policy's vkey for it. Keys are compared as raw public keys, so a claim
// whose signature carries another key name for a trusted key still counts.
func (p *Policy) Builder(vkey string) (name string, policyVKey string, ok bool) {
	k, ok := p.byKey[string(rawKey(vkey))]
	if !ok {
		return "", "", false
	}
	b := p.Builders[k.builder]
	return b.Name, b.Keys[k.key].VKey, true
}

// BuilderOf returns the name of the trusted identity whose key made a
// signature of a decoded entry (log/claim/record), and the policy's key
// for it. A signed-note key matches as in [Policy.Builder]; any other by
// record.TrustKey (an OpenPGP certificate by its fingerprint, other keys
// by their whole text).
func (p *Policy) BuilderOf(s record.Signer) (name string, key BuilderKey, ok bool) {
	var k builderKey
	if s.Scheme == scheme.Note {
		k, ok = p.byKey[string(rawKey(s.TrustKey()))]
	} else {
		k, ok = p.byTrust[s.TrustKey()]
	}
	if !ok {
		return "", BuilderKey{}, false
	}
	b := p.Builders[k.builder]
	return b.Name, b.Keys[k.key], true
}

// defines reports whether name is a builder or a builders group of p.
func (p *Policy) defines(name string) bool {
	return slices.ContainsFunc(p.Builders, func(b Builder) bool { return b.Name == name }) ||
		slices.ContainsFunc(p.Groups, func(g BuilderGroup) bool { return g.Name == name })
}

// agreement evaluates the builders groups for the identities that voted. It
// returns which builders and groups are met (a builder is met if it voted)
// and the outcome of every builders group. Groups are evaluated in file
// order, so members are known before their groups.
func (p *Policy) agreement(voted map[string]bool) (map[string]bool, []GroupResult) {
	met := map[string]bool{}
	for name := range voted {
		met[name] = true
	}
	results := make([]GroupResult, len(p.Groups))
	for i, g := range p.Groups {
		n := 0
		for _, m := range g.Members {
			if met[m] {
				n++
			}
		}
		met[g.Name] = n >= g.K
		results[i] = GroupResult{Name: g.Name, K: g.K, Of: len(g.Members), Agreed: n, Met: n >= g.K}
	}
	return met, results
}

// format returns p as a policy file in one canonical spelling, which
// [ParsePolicy] parses back to an equal policy.
func (p *Policy) format() []byte {
	var b bytes.Buffer
	line := func(fields ...string) { b.WriteString(strings.Join(fields, " ") + "\n") }
	opt := func(u string) []string {
		if u == "" {
			return nil
		}
		return []string{u}
	}
	for _, l := range p.TLog.Logs {
		line(append([]string{"log", l.VKey}, opt(l.URL)...)...)
	}
	for _, w := range p.TLog.Witnesses {
		line(append([]string{"witness", w.Name, w.VKey}, opt(w.URL)...)...)
	}
	for _, g := range p.TLog.Groups {
		line(append([]string{"group", g.Name, strconv.Itoa(g.K)}, g.Members...)...)
	}
	line("quorum", p.TLog.Quorum)
	for _, bl := range p.Builders {
		for _, k := range bl.Keys {
			line("builder", bl.Name, k.VKey)
		}
	}
	for _, g := range p.Groups {
		line(append([]string{"builders", g.Name, strconv.Itoa(g.K)}, g.Members...)...)
	}
	line("agree", p.Agree)
	return b.Bytes()
}
