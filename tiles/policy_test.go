package tiles_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/tiles"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// key returns a fixed Ed25519 signed-note key pair.
func key(t testing.TB, name string, seed byte) (skey, vkey string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)), name)
	if err != nil {
		t.Fatal(err)
	}
	return skey, vkey
}

// witnessKey returns a fixed witness key: its skey and its cosignature (0x04) vkey.
func witnessKey(t testing.TB, name string, seed byte) (skey, cosigVKey string) {
	t.Helper()
	skey, vkey := key(t, name, seed)
	cv, err := fnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return skey, cv
}

func TestParsePolicy(t *testing.T) {
	_, logV := key(t, "example.org/log", 1)
	_, w1 := witnessKey(t, "w1.example", 2)
	_, w2 := witnessKey(t, "w2.example", 3)
	_, w3 := witnessKey(t, "w3.example", 4)
	_, w1plain := key(t, "w1.example", 2)
	_, w1renamed := witnessKey(t, "other.example", 2)
	good := fmt.Sprintf("# a comment\n\tlog %s https://log.example.org/\n\nwitness w1 %s\nwitness  w2\t%s https://w2.example/\nwitness w3 %s\ngroup g 2 w1 w2 w3\n  # indented comment\nbuilder ci someone\nquorum g\n", logV, w1, w2, w3)
	p, err := tiles.ParsePolicy([]byte(good), "builder")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Logs) != 1 || p.Logs[0].URL != "https://log.example.org/" || p.Logs[0].Origin() != "example.org/log" ||
		len(p.Witnesses) != 3 || p.Witnesses[1].URL != "https://w2.example/" || p.Quorum != "g" ||
		len(p.Groups) != 1 || p.Groups[0].K != 2 || len(p.Extensions) != 1 || p.Extensions[0].Line != 9 {
		t.Fatalf("ParsePolicy = %+v", p)
	}
	for _, tt := range []struct {
		cosigned string
		want     bool
	}{{"", false}, {"w1", false}, {"w1 w3", true}, {"w1 w2 w3", true}, {"x w2", false}} {
		m := map[string]bool{}
		for _, n := range strings.Fields(tt.cosigned) {
			m[n] = true
		}
		if got := p.Satisfied(m); got != tt.want {
			t.Errorf("Satisfied(%q) = %v, want %v", tt.cosigned, got, tt.want)
		}
	}

	bad := map[string]string{
		"no quorum":                        "log " + logV + "\n",
		"two quorums":                      "quorum none\nquorum none\n",
		"unknown keyword":                  "builder x y\nquorum none\n",
		"quorum undefined":                 "quorum w1\n",
		"member undefined":                 "witness w1 " + w1 + "\ngroup g any w1 w2\nquorum g\n",
		"member before definition":         "group g any w1\nwitness w1 " + w1 + "\nquorum g\n",
		"member twice":                     "witness w1 " + w1 + "\ngroup g 1 w1 w1\nquorum g\n",
		"none as member":                   "witness w1 " + w1 + "\ngroup g any none w1\nquorum g\n",
		"k zero":                           "witness w1 " + w1 + "\ngroup g 0 w1\nquorum g\n",
		"k too large":                      "witness w1 " + w1 + "\ngroup g 2 w1\nquorum g\n",
		"k leading zero":                   "witness w1 " + w1 + "\ngroup g 01 w1\nquorum g\n",
		"no members":                       "group g any\nquorum none\n",
		"name twice":                       "witness w1 " + w1 + "\nwitness w1 " + w2 + "\nquorum none\n",
		"group named like witness":         "witness w1 " + w1 + "\ngroup w1 any w1\nquorum w1\n",
		"witness named none":               "witness none " + w1 + "\nquorum none\n",
		"same witness key twice":           "witness a " + w1 + "\nwitness b " + w1 + "\nquorum none\n",
		"same key under two names":         "witness a " + w1 + "\nwitness b " + w1renamed + "\nquorum none\n",
		"log key as witness":               "log " + logV + "\nwitness w " + w1 + "\nwitness v " + strings.Replace(mustCosig(t, logV), "", "", 0) + "\nquorum none\n",
		"log twice":                        "log " + logV + "\nlog " + logV + "\nquorum none\n",
		"witness with a plain ed25519 key": "witness w1 " + w1plain + "\nquorum none\n",
		"log with a cosignature key":       "log " + w1 + "\nquorum none\n",
		"bad vkey":                         "log example.org/log+00000000+AAAA\nquorum none\n",
		"bad url":                          "log " + logV + " ftp://x\nquorum none\n",
		"extra field":                      "log " + logV + " https://a/ https://b/\nquorum none\n",
		"control character":                "quorum none\r\n",
		"quorum with two names":            "quorum none none\n",
	}
	for desc, in := range bad {
		if _, err := tiles.ParsePolicy([]byte(in)); !errors.Is(err, tiles.ErrMalformedPolicy) {
			t.Errorf("%s: ParsePolicy: %v, want ErrMalformedPolicy", desc, err)
		}
	}
}

func mustCosig(t *testing.T, vkey string) string {
	cv, err := fnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return cv
}

func TestVerifyCheckpoint(t *testing.T) {
	logS, logV := key(t, "example.org/log", 1)
	var wS, wV [3]string
	for i := range wS {
		wS[i], wV[i] = witnessKey(t, fmt.Sprintf("w%d.example", i), byte(10+i))
	}
	p, err := tiles.ParsePolicy([]byte(fmt.Sprintf("log %s\nwitness a %s\nwitness b %s\nwitness c %s\ngroup q 2 a b c\nquorum q\n", logV, wV[0], wV[1], wV[2])))
	if err != nil {
		t.Fatal(err)
	}
	body := tiles.Checkpoint{Origin: "example.org/log", Size: 5, Hash: [32]byte{1}}.Format()
	sign := func(signers ...string) []byte {
		var ss []note.Signer
		for i, sk := range signers {
			var s note.Signer
			var err error
			if i == 0 {
				s, err = note.NewSigner(sk)
			} else {
				s, err = fnote.NewSignerForCosignatureV1(sk)
			}
			if err != nil {
				t.Fatal(err)
			}
			ss = append(ss, s)
		}
		msg, err := note.Sign(&note.Note{Text: string(body)}, ss...)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	vc, err := p.VerifyCheckpoint(sign(logS, wS[0], wS[2]))
	if err != nil || vc.Size != 5 || len(vc.Cosigners) != 2 || vc.Cosigners["a"].IsZero() {
		t.Fatalf("VerifyCheckpoint(log+a+c): %+v, %v", vc, err)
	}
	if vc, err := p.VerifyCheckpoint(sign(logS, wS[1])); !errors.Is(err, tiles.ErrQuorum) || vc == nil || !strings.Contains(err.Error(), "[b]") {
		t.Fatalf("one cosignature: %v, want ErrQuorum naming b", err)
	}
	if _, err := p.VerifyCheckpoint(sign(wS[0], wS[1], wS[2])); err == nil {
		t.Fatal("a checkpoint without the log's signature verified")
	}
	other, _ := key(t, "example.org/log", 99)
	if _, err := p.VerifyCheckpoint(sign(other, wS[0], wS[1])); err == nil {
		t.Fatal("a checkpoint signed by another key under the log's name verified")
	}
	// A cosignature line by a known witness that does not verify rejects the note.
	msg := sign(logS, wS[0], wS[1])
	i := bytes.LastIndex(msg, []byte(" ")) + 10
	msg[i] ^= 1
	if _, err := p.VerifyCheckpoint(msg); err == nil {
		t.Fatal("a note with a corrupted cosignature verified")
	}
}

func FuzzParsePolicy(f *testing.F) {
	_, logV := key(f, "example.org/log", 1)
	_, w1 := witnessKey(f, "w1.example", 2)
	f.Add([]byte("log " + logV + "\nwitness w1 " + w1 + " https://w/\ngroup g any w1\nquorum g\n"))
	f.Add([]byte("quorum none\n"))
	f.Add([]byte("group g 2 a b\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := tiles.ParsePolicy(b, "builder")
		if err != nil {
			return
		}
		// Whatever parses is internally consistent: the quorum and every
		// group member name something defined, and evaluating never panics.
		names := map[string]bool{"none": true}
		for _, w := range p.Witnesses {
			names[w.Name] = true
		}
		for _, g := range p.Groups {
			for _, m := range g.Members {
				if !names[m] {
					t.Fatalf("group %s has undefined member %s", g.Name, m)
				}
			}
			if g.K < 1 || g.K > len(g.Members) {
				t.Fatalf("group %s threshold %d of %d", g.Name, g.K, len(g.Members))
			}
			names[g.Name] = true
		}
		if !names[p.Quorum] {
			t.Fatalf("quorum %q undefined", p.Quorum)
		}
		p.Satisfied(names)
	})
}
