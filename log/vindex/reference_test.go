package vindex

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
)

// refRoot is the map's definition, kept plain and apart from the optimised
// code, hashes included: the root over a set of keys with their lists is
// 32 zero bytes for none, the leaf hash for one, else the node hash over
// the keys split by their next bit.
func refRoot(m map[Key][]int64) Hash {
	keys := make([]Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return refSubtree(m, keys, 0)
}

func refSubtree(m map[Key][]int64, keys []Key, depth int) Hash {
	switch len(keys) {
	case 0:
		return Hash{}
	case 1:
		k, list := keys[0], m[keys[0]]
		head := Hash{}
		for _, i := range list {
			head = sha256.Sum256(binary.BigEndian.AppendUint64(append([]byte("attestlog/vindex/chain/v1\x00"), head[:]...), uint64(i)))
		}
		b := append([]byte("attestlog/vindex/leaf/v1\x00"), k[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(len(list)))
		b = binary.BigEndian.AppendUint64(b, uint64(slices.Max(list)))
		return sha256.Sum256(append(b, head[:]...))
	}
	var halves [2][]Key
	for _, k := range keys {
		b := k[depth/8] >> (7 - depth%8) & 1
		halves[b] = append(halves[b], k)
	}
	l, r := refSubtree(m, halves[0], depth+1), refSubtree(m, halves[1], depth+1)
	return sha256.Sum256(append(append([]byte("attestlog/vindex/node/v1\x00"), l[:]...), r[:]...))
}
