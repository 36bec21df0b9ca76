package archive_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/attestlog/attestlog/log/archive"
)

func Example() {
	dir, err := os.MkdirTemp("", "archive")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	a, err := archive.Open(dir, archive.Config{})
	if err != nil {
		panic(err)
	}

	const binary = "hello, reproducible world\n"
	const digest = "a84f3bb3b891b408772131d99928367e0469a5f040b6527a1019804788a33be6"
	for range 2 {
		res, err := a.Put(context.Background(), digest, int64(len(binary)), strings.NewReader(binary))
		if err != nil {
			panic(err)
		}
		fmt.Println(res.Size, res.AlreadyStored)
	}

	o, err := a.Get(digest)
	if err != nil {
		panic(err)
	}
	defer o.Close()
	if _, err := io.Copy(os.Stdout, o); err != nil {
		panic(err) // wraps archive.ErrCorrupt if the file on disk was altered
	}
	// Output:
	// 26 false
	// 26 true
	// hello, reproducible world
}
