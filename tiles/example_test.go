package tiles_test

import (
	"crypto/sha256"
	"fmt"

	"github.com/attestlog/attestlog/tiles"
	"golang.org/x/mod/sumdb/tlog"
)

func ExampleParsePath() {
	t, err := tiles.ParsePath("tile/0/x001/x234/067.p/7")
	if err != nil {
		panic(err)
	}
	fmt.Printf("level %d, index %d, width %d\n", t.L, t.N, t.W)

	t.L = tiles.EntriesLevel
	t.W = tiles.Width
	fmt.Println(tiles.Path(t))
	// Output:
	// level 0, index 1234067, width 7
	// tile/entries/x001/x234/067
}

func ExampleCheckpoint_Format() {
	c := tiles.Checkpoint{
		Origin: "example.com/log",
		Size:   0,
		Hash:   tlog.Hash(sha256.Sum256(nil)), // the root hash of the empty tree
	}
	fmt.Printf("%s", c.Format())
	// Output:
	// example.com/log
	// 0
	// 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
}
