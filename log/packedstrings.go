package log

// packedStrings builds strings that share one allocation: what a
// structure keeps for long (the index stage, until its slices move) is
// then one object for the garbage collector to mark, not one a key.
type packedStrings struct {
	buf  []byte
	ends []int
}

// add appends b as the next string.
func (p *packedStrings) add(b []byte) {
	p.buf = append(p.buf, b...)
	p.ends = append(p.ends, len(p.buf))
}

// strings returns the strings added, in order, all in one allocation.
func (p *packedStrings) strings() []string {
	all, start := string(p.buf), 0
	out := make([]string, len(p.ends))
	for i, end := range p.ends {
		out[i], start = all[start:end], end
	}
	return out
}
