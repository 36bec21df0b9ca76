// Package tiles implements the pure formats of a tiled transparency log:
// tile and entry-bundle paths and encodings ([c2sp.org/tlog-tiles]) and
// checkpoint bodies ([c2sp.org/tlog-checkpoint]).
//
// Hashing, tile maths and proofs come from [golang.org/x/mod/sumdb/tlog] and
// [github.com/transparency-dev/merkle]; this package adds only what they lack.
// C2SP paths differ from the Go checksum database's: they have no height
// element ("tile/0/x001/234", not "tile/8/0/x001/234") and entry bundles live
// under "tile/entries/" with 16-bit length prefixes. Tiles are represented by
// [tlog.Tile] with H = [Height]; level -1 denotes an entry bundle, as in tlog.
//
// Every parser here is strict: it accepts exactly one spelling of a value and
// re-encoding what it decoded yields the input bytes.
//
// The package does no I/O, starts no goroutines and is safe for concurrent use.
//
// [c2sp.org/tlog-tiles]: https://c2sp.org/tlog-tiles
// [c2sp.org/tlog-checkpoint]: https://c2sp.org/tlog-checkpoint
package tiles
