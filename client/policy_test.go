package client_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/note"
)

func TestParsePolicy(t *testing.T) {
	w := newWorld(t)
	p := w.policy(t)
	if p.Agree != "release" || len(p.Builders) != 4 || len(p.Groups) != 3 || len(p.TLog.Witnesses) != 3 || p.TLog.Quorum != "witnesses" {
		t.Fatalf("ParsePolicy = %+v", p)
	}
	if ci := p.Builders[0]; ci.Name != "ci" || len(ci.Keys) != 2 || ci.Keys[0].Line != 7 || ci.Keys[1].Line != 9 || ci.Keys[1].VKey != w.b["ci-b"].VKey {
		t.Errorf("builder ci = %+v", ci)
	}
	if g := p.Groups[1]; g.Name != "release" || g.K != 2 || strings.Join(g.Members, " ") != "ci rebuilders" || g.Line != 13 {
		t.Errorf("group release = %+v", g)
	}
	if g := p.Groups[0]; g.K != 2 || len(g.Members) != 3 {
		t.Errorf("group rebuilders = %+v", g)
	}

	// A key is trusted by its raw public key, whatever name its vkey carries.
	_, renamed := keys(t, "other-name", 22) // alice's key
	for _, tt := range []struct{ vkey, name string }{
		{w.b["alice"].VKey, "alice"}, {w.b["ci-b"].VKey, "ci"}, {renamed, "alice"}, {w.b["mallory"].VKey, ""}, {"garbage", ""},
	} {
		name, _, ok := p.Builder(tt.vkey)
		if name != tt.name || ok != (tt.name != "") {
			t.Errorf("Builder(%s) = %q, %v, want %q", tt.vkey, name, ok, tt.name)
		}
	}
}

func TestParsePolicyErrors(t *testing.T) {
	w := newWorld(t)
	head := fmt.Sprintf("log %s\nwitness w1 %s\nquorum w1\n", w.logVKey, w.wVKeys[0]) // lines 1-3
	alice, bob := w.b["alice"].VKey, w.b["bob"].VKey
	_, logKeyAsBuilder := keys(t, "sneaky", 1)    // the log's key under another name
	_, witnessKeyAsBuilder := keys(t, "also", 10) // w1's key as a plain Ed25519 vkey
	_, aliceRenamed := keys(t, "alice2", 22)
	cosigVKey := w.wVKeys[1]
	upperID := strings.Replace(alice, "+", "+X", 1)
	if v, err := note.NewVerifier(alice); err == nil {
		upperID = fmt.Sprintf("%s+%08X+%s", v.Name(), v.KeyHash(), strings.SplitN(alice, "+", 3)[2])
	}
	tests := []struct {
		desc, body string
		line       int // line named in the error; 0: none
	}{
		{"no agree line", "builder alice " + alice + "\n", 0},
		{"second agree line", "builder alice " + alice + "\nagree alice\nagree alice\n", 6},
		{"agree undefined", "builder alice " + alice + "\nagree bob\n", 5},
		{"agree before its builder", "agree alice\nbuilder alice " + alice + "\n", 4},
		{"agree naming a witness", "builder alice " + alice + "\nagree w1\n", 5},
		{"agree with two names", "builder alice " + alice + "\nagree alice alice\n", 5},
		{"builder without key", "builder alice\nagree alice\n", 4},
		{"builder with two keys on a line", "builder alice " + alice + " " + bob + "\nagree alice\n", 4},
		{"builder vkey garbage", "builder alice nonsense\nagree alice\n", 4},
		{"builder vkey not canonical", "builder alice " + upperID + "\nagree alice\n", 4},
		{"builder vkey of a cosignature key", "builder alice " + cosigVKey + "\nagree alice\n", 4},
		{"same key twice for one builder", "builder alice " + alice + "\nbuilder alice " + alice + "\nagree alice\n", 5},
		{"same key for two builders", "builder alice " + alice + "\nbuilder bob " + alice + "\nagree alice\n", 5},
		{"same raw key under two names", "builder alice " + alice + "\nbuilder bob " + aliceRenamed + "\nagree alice\n", 5},
		{"builder key is the log's", "builder alice " + logKeyAsBuilder + "\nagree alice\n", 4},
		{"builder key is a witness's", "builder alice " + witnessKeyAsBuilder + "\nagree alice\n", 4},
		{"builder named like a witness", "builder w1 " + alice + "\nagree w1\n", 4},
		{"builder named like a group", "builder alice " + alice + "\nbuilders g any alice\nbuilder g " + bob + "\nagree g\n", 6},
		{"group named like a builder", "builder alice " + alice + "\nbuilders alice any alice\nagree alice\n", 5},
		{"group named twice", "builder alice " + alice + "\nbuilders g any alice\nbuilders g any alice\nagree g\n", 6},
		{"group member undefined", "builder alice " + alice + "\nbuilders g any alice bob\nagree g\n", 5},
		{"group member defined later", "builders g any alice\nbuilder alice " + alice + "\nagree g\n", 4},
		{"group member twice", "builder alice " + alice + "\nbuilders g 1 alice alice\nagree g\n", 5},
		{"group member a witness", "builder alice " + alice + "\nbuilders g 1 alice w1\nagree g\n", 5},
		{"group without members", "builder alice " + alice + "\nbuilders g any\nagree alice\n", 5},
		{"group threshold zero", "builder alice " + alice + "\nbuilders g 0 alice\nagree g\n", 5},
		{"group threshold too large", "builder alice " + alice + "\nbuilders g 2 alice\nagree g\n", 5},
		{"group threshold leading zero", "builder alice " + alice + "\nbuilder bob " + bob + "\nbuilders g 01 alice bob\nagree g\n", 6},
		{"group threshold signed", "builder alice " + alice + "\nbuilders g +1 alice\nagree g\n", 5},
		{"group threshold word", "builder alice " + alice + "\nbuilders g some alice\nagree g\n", 5},
		{"unknown keyword", "builder alice " + alice + "\nbuild bob " + bob + "\nagree alice\n", 5},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := client.ParsePolicy([]byte(head + tt.body))
			if err == nil {
				t.Fatal("ParsePolicy succeeded")
			}
			if !errors.Is(err, tiles.ErrMalformedPolicy) {
				t.Errorf("error %v does not wrap tiles.ErrMalformedPolicy", err)
			}
			if tt.line != 0 && !strings.Contains(err.Error(), fmt.Sprintf("line %d:", tt.line)) {
				t.Errorf("error %q does not name line %d", err, tt.line)
			}
		})
	}
}

func TestParsePolicyDomainExample(t *testing.T) {
	w := newWorld(t)
	text := strings.NewReplacer("<log>", w.logVKey, "<w1>", w.wVKeys[0], "<w2>", w.wVKeys[1], "<w3>", w.wVKeys[2],
		"<ci>", w.b["ci-a"].VKey, "<alice>", w.b["alice"].VKey, "<bob>", w.b["bob"].VKey, "<carol>", w.b["carol"].VKey).Replace(`
# DOMAIN.md's example, with keys; trailing comments as it writes them on builder lines
log      <log> https://log.example.org/
witness  w1 <w1> https://w1.example/
witness  w2 <w2>
	witness  w3 <w3>
group    witnesses 2 w1 w2 w3
quorum   witnesses
builder  ci      <ci>         # several lines with one name = several keys of one identity
builder  alice   <alice>
builder  bob     <bob>
builder  carol   <carol>
builders rebuilders 2 alice bob carol
builders release all ci rebuilders     # ci required and 2 of 3 rebuilders
agree    release                       # what a download needs
`)
	p, err := client.ParsePolicy([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if p.Agree != "release" || p.Groups[1].K != 2 || p.TLog.Logs[0].URL != "https://log.example.org/" {
		t.Fatalf("ParsePolicy = %+v", p)
	}
}
