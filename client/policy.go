package client

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/attestlog/attestlog/log/claim"
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

	byKey map[string]builderKey // raw Ed25519 public key -> builder and key
}

// A Builder is one trusted build identity: all "builder" lines with one name.
// However many keys and claims it has, it gets one vote.
type Builder struct {
	Name string
	Keys []BuilderKey // in file order
}

// A BuilderKey is one "builder <name> <vkey>" line.
type BuilderKey struct {
	VKey     string // canonical signed-note Ed25519 verifier key
	Line     int    // 1-based line number in the policy file
	Verifier note.Verifier
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
//	builders <name> all|any|<k> <member>...
//	agree    <name>
//
// A builder line trusts a builder key (a signed-note Ed25519 vkey in the
// canonical form [claim.ParseVKey] accepts) as the identity name; several
// lines with one name give one identity several keys. A builders line
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
// keys are compared as raw Ed25519 public keys, not as vkey text. Errors
// wrap [tiles.ErrMalformedPolicy] and name the line.
func ParsePolicy(b []byte) (*Policy, error) {
	tp, err := tiles.ParsePolicy(b, "builder", "builders", "agree")
	if err != nil {
		return nil, err
	}
	p := &Policy{TLog: tp, byKey: map[string]builderKey{}}
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
			if len(args) != 2 {
				return nil, bad("want \"builder <name> <vkey>\"")
			}
			if groups[args[0]] {
				return nil, bad("name %q is already a builders group", args[0])
			}
			v, err := claim.ParseVKey(args[1])
			if err != nil {
				return nil, bad("builder %s: %v", args[0], err)
			}
			raw := string(rawKey(args[1]))
			if what, ok := taken[raw]; ok {
				return nil, bad("public key of %s is already the key of %s", args[1], what)
			}
			taken[raw] = "builder " + args[0]
			i, ok := builders[args[0]]
			if !ok {
				i = len(p.Builders)
				builders[args[0]] = i
				p.Builders = append(p.Builders, Builder{Name: args[0]})
			}
			p.byKey[raw] = builderKey{builder: i, key: len(p.Builders[i].Keys)}
			p.Builders[i].Keys = append(p.Builders[i].Keys, BuilderKey{VKey: args[1], Line: line.Line, Verifier: v})
			if len(p.byKey) > MaxPolicyBuilderKeys {
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
