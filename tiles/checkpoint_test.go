package tiles_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/attestlog/attestlog/tiles"
	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	// emptyHash is the RFC 6962 root hash of the empty tree, SHA-256 of the empty string.
	emptyHash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	// someHash is SHA-256("attestlog").
	someHash = "FjOay6ImvJ7+IO3K+v79ECUQ6HM1+0HtKmDoE9p3JP8="
)

func mustHash(t testing.TB, b64 string) tlog.Hash {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(b) != tlog.HashSize {
		t.Fatalf("bad test hash %q", b64)
	}
	return tlog.Hash(b)
}

// noncanonical returns b64 with the unused low bits of its last significant
// character set: it decodes to the same bytes but is not the canonical text.
func noncanonical(b64 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := strings.IndexByte(b64, '=') - 1
	c := strings.IndexByte(alphabet, b64[i])
	return b64[:i] + string(alphabet[c^1]) + b64[i+1:]
}

func TestTestHashes(t *testing.T) {
	if got, want := mustHash(t, emptyHash), tlog.Hash(sha256.Sum256(nil)); got != want {
		t.Errorf("emptyHash = %v, want SHA-256 of the empty string %v", got, want)
	}
	if got, want := mustHash(t, someHash), tlog.Hash(sha256.Sum256([]byte("attestlog"))); got != want {
		t.Errorf("someHash = %v, want %v", got, want)
	}
	for _, h := range []string{emptyHash, someHash} {
		n := noncanonical(h)
		b, err := base64.StdEncoding.DecodeString(n)
		if n == h || err != nil || !bytes.Equal(b, mustHashBytes(h)) {
			t.Errorf("noncanonical(%q) = %q, which does not decode to the same hash", h, n)
		}
	}
}

var goodCheckpoints = []struct {
	desc string
	text string
	want tiles.Checkpoint
}{
	{
		"empty tree",
		"example.com/log\n0\n" + emptyHash + "\n",
		tiles.Checkpoint{Origin: "example.com/log", Size: 0, Hash: tlog.Hash(sha256.Sum256(nil))},
	},
	{
		"size 3",
		"example.com/log\n3\n" + someHash + "\n",
		tiles.Checkpoint{Origin: "example.com/log", Size: 3, Hash: tlog.Hash(sha256.Sum256([]byte("attestlog")))},
	},
	{
		"largest size",
		"github.com/attestlog/attestlog/2026\n9223372036854775807\n" + someHash + "\n",
		tiles.Checkpoint{Origin: "github.com/attestlog/attestlog/2026", Size: math.MaxInt64, Hash: tlog.Hash(sha256.Sum256([]byte("attestlog")))},
	},
	{
		"one extension line",
		"example.com/log\n10\n" + someHash + "\nextension\n",
		tiles.Checkpoint{Origin: "example.com/log", Size: 10, Hash: tlog.Hash(sha256.Sum256([]byte("attestlog"))), Extensions: []string{"extension"}},
	},
	{
		"extension lines",
		"example.com/log\n1234567\n" + emptyHash + "\nfirst extension\n— not a signature\nthird\n",
		tiles.Checkpoint{Origin: "example.com/log", Size: 1234567, Hash: tlog.Hash(sha256.Sum256(nil)), Extensions: []string{"first extension", "— not a signature", "third"}},
	},
	{
		"unicode origin with spaces",
		"例え.jp/ログ 2026\n1\n" + emptyHash + "\n",
		tiles.Checkpoint{Origin: "例え.jp/ログ 2026", Size: 1, Hash: tlog.Hash(sha256.Sum256(nil))},
	},
}

var badCheckpoints = []struct {
	desc string
	text string
}{
	{"empty", ""},
	{"newline only", "\n"},
	{"missing final newline", "example.com/log\n3\n" + someHash},
	{"missing final newline after extension", "example.com/log\n3\n" + someHash + "\next"},
	{"two lines", "example.com/log\n3\n"},
	{"empty origin", "\n3\n" + someHash + "\n"},
	{"empty size", "example.com/log\n\n" + someHash + "\n"},
	{"empty hash", "example.com/log\n3\n\n"},
	{"size with leading zero", "example.com/log\n01\n" + someHash + "\n"},
	{"size 00", "example.com/log\n00\n" + emptyHash + "\n"},
	{"size with plus", "example.com/log\n+1\n" + someHash + "\n"},
	{"negative size", "example.com/log\n-1\n" + someHash + "\n"},
	{"negative zero size", "example.com/log\n-0\n" + emptyHash + "\n"},
	{"size overflows int64", "example.com/log\n9223372036854775808\n" + someHash + "\n"},
	{"size overflows uint64", "example.com/log\n18446744073709551616\n" + someHash + "\n"},
	{"size with spaces", "example.com/log\n 3\n" + someHash + "\n"},
	{"size in hex", "example.com/log\n0x3\n" + someHash + "\n"},
	{"size with underscore", "example.com/log\n1_000\n" + someHash + "\n"},
	{"hash with carriage return inside", "example.com/log\n3\n" + someHash[:20] + "\r" + someHash[20:] + "\n"},
	{"hash with carriage return at end", "example.com/log\n3\n" + someHash + "\r\n"},
	{"hash with newline inside", "example.com/log\n3\n" + someHash[:20] + "\n" + someHash[20:] + "\n"},
	{"hash with non-zero padding bits", "example.com/log\n3\n" + noncanonical(someHash) + "\n"},
	{"empty hash with non-zero padding bits", "example.com/log\n0\n" + noncanonical(emptyHash) + "\n"},
	{"hash without padding", "example.com/log\n3\n" + strings.TrimRight(someHash, "=") + "\n"},
	{"hash in URL encoding", "example.com/log\n0\n" + base64.URLEncoding.EncodeToString(mustHashBytes(emptyHash)) + "\n"},
	{"short hash", "example.com/log\n3\n" + base64.StdEncoding.EncodeToString(make([]byte, 31)) + "\n"},
	{"long hash", "example.com/log\n3\n" + base64.StdEncoding.EncodeToString(make([]byte, 33)) + "\n"},
	{"hash not base64", "example.com/log\n3\n" + strings.Repeat("!", 43) + "=\n"},
	{"hash with space", "example.com/log\n3\n " + someHash + "\n"},
	{"empty extension line", "example.com/log\n3\n" + someHash + "\n\n"},
	{"empty extension line between", "example.com/log\n3\n" + someHash + "\nfirst\n\nthird\n"},
	{"signature separator", "example.com/log\n3\n" + someHash + "\n\n— example.com/log AAAA\n"},
	{"invalid UTF-8 in origin", "example.com/\xfflog\n3\n" + someHash + "\n"},
	{"invalid UTF-8 in extension", "example.com/log\n3\n" + someHash + "\n\xc3\n"},
	{"tab in origin", "example.com/\tlog\n3\n" + someHash + "\n"},
	{"carriage return after origin", "example.com/log\r\n3\n" + someHash + "\n"},
	{"NUL in origin", "example.com/log\x00\n3\n" + someHash + "\n"},
	{"DEL in origin", "example.com/log\x7f\n3\n" + someHash + "\n"},
	{"C1 control in origin", "example.com/log\u0085\n3\n" + someHash + "\n"},
	{"control char in extension", "example.com/log\n3\n" + someHash + "\next\x1b[0m\n"},
	{"CRLF line endings", "example.com/log\r\n3\r\n" + someHash + "\r\n"},
}

func mustHashBytes(b64 string) []byte {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		panic(err)
	}
	return b
}

func TestCheckpointRoundTrip(t *testing.T) {
	for _, tt := range goodCheckpoints {
		t.Run(tt.desc, func(t *testing.T) {
			c, err := tiles.ParseCheckpoint([]byte(tt.text))
			if err != nil {
				t.Fatalf("ParseCheckpoint(%q): %v", tt.text, err)
			}
			if !reflect.DeepEqual(c, tt.want) {
				t.Errorf("ParseCheckpoint(%q) = %+v, want %+v", tt.text, c, tt.want)
			}
			if got := tt.want.Format(); string(got) != tt.text {
				t.Errorf("Format() = %q, want %q", got, tt.text)
			}
		})
	}
}

func TestParseCheckpointErrors(t *testing.T) {
	for _, tt := range badCheckpoints {
		t.Run(tt.desc, func(t *testing.T) {
			c, err := tiles.ParseCheckpoint([]byte(tt.text))
			if err == nil {
				t.Fatalf("ParseCheckpoint(%q) = %+v, want error", tt.text, c)
			}
			if !errors.Is(err, tiles.ErrMalformedCheckpoint) {
				t.Errorf("ParseCheckpoint(%q) error %q does not wrap ErrMalformedCheckpoint", tt.text, err)
			}
			if !reflect.DeepEqual(c, tiles.Checkpoint{}) {
				t.Errorf("ParseCheckpoint(%q) returned %+v with its error, want the zero Checkpoint", tt.text, c)
			}
		})
	}
}

// checkInterop checks that x/mod's tlog.ParseTree and transparency-dev's
// log.Checkpoint read text, which tiles.ParseCheckpoint parsed as c, the same way.
func checkInterop(t *testing.T, text []byte, c tiles.Checkpoint) {
	t.Helper()
	var fc log.Checkpoint
	rest, err := fc.Unmarshal(text)
	if err != nil {
		t.Fatalf("formats log.Checkpoint.Unmarshal(%q): %v", text, err)
	}
	if fc.Origin != c.Origin || fc.Size != uint64(c.Size) || !bytes.Equal(fc.Hash, c.Hash[:]) {
		t.Errorf("formats log.Checkpoint.Unmarshal(%q) = %q %d %x, tiles.ParseCheckpoint = %q %d %x",
			text, fc.Origin, fc.Size, fc.Hash, c.Origin, c.Size, c.Hash[:])
	}
	var wantRest []byte
	if len(c.Extensions) > 0 {
		wantRest = []byte(strings.Join(c.Extensions, "\n") + "\n")
	}
	if !bytes.Equal(rest, wantRest) {
		t.Errorf("formats log.Checkpoint.Unmarshal(%q) rest = %q, want the extension lines %q", text, rest, wantRest)
	}

	// tlog.ParseTree reads only the Go checksum database's origin, so give
	// it the size and hash lines under that origin.
	_, sizeAndHash, _ := bytes.Cut(text, []byte("\n"))
	lines := bytes.SplitAfterN(sizeAndHash, []byte("\n"), 3)
	tree, err := tlog.ParseTree(append([]byte("go.sum database tree\n"), bytes.Join(lines[:2], nil)...))
	if err != nil {
		t.Fatalf("tlog.ParseTree of the size and hash of %q: %v", text, err)
	}
	if tree.N != c.Size || tree.Hash != c.Hash {
		t.Errorf("tlog.ParseTree of %q = %d %v, tiles.ParseCheckpoint = %d %v", text, tree.N, tree.Hash, c.Size, c.Hash)
	}
}

func TestCheckpointInterop(t *testing.T) {
	for _, tt := range goodCheckpoints {
		t.Run(tt.desc, func(t *testing.T) {
			c, err := tiles.ParseCheckpoint([]byte(tt.text))
			if err != nil {
				t.Fatalf("ParseCheckpoint(%q): %v", tt.text, err)
			}
			checkInterop(t, []byte(tt.text), c)
			// formats' Marshal writes the same three lines as Format.
			fc := log.Checkpoint{Origin: c.Origin, Size: uint64(c.Size), Hash: c.Hash[:]}
			c.Extensions = nil
			if got, want := fc.Marshal(), c.Format(); !bytes.Equal(got, want) {
				t.Errorf("formats Marshal = %q, Format = %q", got, want)
			}
		})
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	for _, tt := range goodCheckpoints {
		f.Add([]byte(tt.text))
	}
	for _, tt := range badCheckpoints {
		f.Add([]byte(tt.text))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := tiles.ParseCheckpoint(b)
		if err != nil {
			if !errors.Is(err, tiles.ErrMalformedCheckpoint) {
				t.Fatalf("ParseCheckpoint(%q) error %q does not wrap ErrMalformedCheckpoint", b, err)
			}
			return
		}
		if got := c.Format(); !bytes.Equal(got, b) {
			t.Fatalf("ParseCheckpoint(%q).Format() = %q", b, got)
		}
		checkInterop(t, b, c)
	})
}
