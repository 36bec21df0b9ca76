package edkey

import (
	"sync/atomic"
	"unsafe"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// A niels point is an affine point (x, y) of edwards25519 kept as y+x,
// y−x and 2d·x·y, the form in which adding it to a point in extended
// coordinates takes seven field multiplications.
type niels struct {
	ypx, ymx, xy2d field.Element
}

// A table holds the multiples 1·P … 8·P of P·256^i for i = 0 … 31: with
// the signed base-16 digits of a scalar s, [s]P is 64 additions of table
// points and four doublings (the fixed-base method crypto/ed25519 uses
// for the base point, here for any point). 30 KiB.
type table [32][8]niels

// A wideTable holds the multiples 1·P … 128·P of P·256^i for i = 0 … 31:
// with the signed base-256 digits of a scalar s, [s]P is 32 additions of
// table points and no doubling. 480 KiB: the base point's alone.
type wideTable [32][128]niels

// newTable returns the table of p. It costs about 500 point additions and
// one field inversion, some two verifications' worth.
func newTable(p *edwards25519.Point) *table {
	t := new(table)
	fillRows(p, len(t[0]), func(i, j int) *niels { return &t[i][j] })
	return t
}

// newWideTable returns the wide table of p.
func newWideTable(p *edwards25519.Point) *wideTable {
	t := new(wideTable)
	fillRows(p, len(t[0]), func(i, j int) *niels { return &t[i][j] })
	return t
}

// fillRows sets *at(i, j) to (j+1)·p·256^i for i = 0 … 31 and j = 0 …
// per-1.
func fillRows(p *edwards25519.Point, per int, at func(i, j int) *niels) {
	pts := make([]edwards25519.Point, 32*per)
	row := new(edwards25519.Point).Set(p) // p·256^i
	for i := range 32 {
		pts[i*per].Set(row)
		for j := 1; j < per; j++ {
			pts[i*per+j].Add(&pts[i*per+j-1], row)
		}
		for range 8 {
			row.Double(row)
		}
	}
	// To affine coordinates with one inversion: prefix products of the
	// Z coordinates, the inverse of all of them, then each inverse from it.
	xs, ys, zs := make([]field.Element, len(pts)), make([]field.Element, len(pts)), make([]field.Element, len(pts))
	prefix := make([]field.Element, len(pts))
	acc := new(field.Element).One()
	for i := range pts {
		x, y, z, _ := pts[i].ExtendedCoordinates()
		xs[i], ys[i], zs[i] = *x, *y, *z
		prefix[i].Set(acc)
		acc.Multiply(acc, z)
	}
	inv := new(field.Element).Invert(acc)
	var zinv, x, y field.Element
	for i := len(pts) - 1; i >= 0; i-- {
		zinv.Multiply(inv, &prefix[i]) // 1/Z_i
		inv.Multiply(inv, &zs[i])      // 1/(Z_0 … Z_{i-1})
		x.Multiply(&xs[i], &zinv)
		y.Multiply(&ys[i], &zinv)
		n := at(i/per, i%per)
		n.ypx.Add(&y, &x)
		n.ymx.Subtract(&y, &x)
		n.xy2d.Multiply(&x, &y)
		n.xy2d.Multiply(&n.xy2d, d2)
	}
}

// d2 is 2·d, d = −121665/121666 the curve's constant.
var d2 = func() *field.Element {
	one := new(field.Element).One()
	num := new(field.Element).Mult32(one, 121665)
	den := new(field.Element).Mult32(one, 121666)
	d := new(field.Element).Multiply(num, new(field.Element).Invert(den))
	d.Negate(d)
	return d.Add(d, d)
}()

// extended is a point in extended coordinates (X:Y:Z:T), x = X/Z,
// y = Y/Z, x·y = T/Z.
type extended struct {
	x, y, z, t field.Element
}

func (v *extended) identity() {
	v.x.Zero()
	v.y.One()
	v.z.One()
	v.t.Zero()
}

// add sets v to v + q, or v − q if neg (the unified addition of
// Hisil–Wong–Carter–Dawson 2008, complete on this curve).
func (v *extended) add(q *niels, neg bool) {
	var ypx, ymx, pp, mm, tt2d, zz2 field.Element
	ypx.Add(&v.y, &v.x)
	ymx.Subtract(&v.y, &v.x)
	if neg { // −(x, y) = (−x, y): y+x and y−x swap, 2dxy changes sign
		pp.Multiply(&ypx, &q.ymx)
		mm.Multiply(&ymx, &q.ypx)
	} else {
		pp.Multiply(&ypx, &q.ypx)
		mm.Multiply(&ymx, &q.ymx)
	}
	tt2d.Multiply(&v.t, &q.xy2d)
	zz2.Add(&v.z, &v.z)
	var x, y, z, t field.Element
	x.Subtract(&pp, &mm)
	y.Add(&pp, &mm)
	if neg {
		z.Subtract(&zz2, &tt2d)
		t.Add(&zz2, &tt2d)
	} else {
		z.Add(&zz2, &tt2d)
		t.Subtract(&zz2, &tt2d)
	}
	v.fromCompleted(&x, &y, &z, &t)
}

// double sets v to 2·v.
func (v *extended) double() {
	var xx, yy, zz2, xy2 field.Element
	xx.Square(&v.x)
	yy.Square(&v.y)
	zz2.Square(&v.z)
	zz2.Add(&zz2, &zz2)
	xy2.Add(&v.x, &v.y)
	xy2.Square(&xy2)
	var x, y, z, t field.Element
	y.Add(&yy, &xx)
	z.Subtract(&yy, &xx)
	x.Subtract(&xy2, &y)
	t.Subtract(&zz2, &z)
	v.fromCompleted(&x, &y, &z, &t)
}

// fromCompleted sets v from the completed point ((x:z), (y:t)).
func (v *extended) fromCompleted(x, y, z, t *field.Element) {
	v.x.Multiply(x, t)
	v.y.Multiply(y, z)
	v.z.Multiply(z, t)
	v.t.Multiply(x, y)
}

// touch loads the table points that the digits d select, before the
// additions that use them, and returns a sum of the words it loaded. A
// key's table is seldom in the CPU's caches when its next signature comes
// (a log's 256 builders' tables are 7.5 MiB), and the additions would wait
// for each point in turn, since each addition is hundreds of instructions
// long: these loads depend on nothing, so the CPU fetches the points
// together (BenchmarkVerifyKeys: 256 keys in turn, 28.2-28.7 µs a
// verification before, 22.6-23.9 after; one key, unchanged).
func (t *table) touch(d *[64]int8) uint64 {
	var sum uint64
	for i, di := range d {
		sum += touchPoint(t[i/2][:], int(di))
	}
	return sum
}

// touch is [table.touch] for a wide table and base-256 digits.
func (t *wideTable) touch(d *[32]int16) uint64 {
	var sum uint64
	for i, di := range d {
		sum += touchPoint(t[i][:], int(di))
	}
	return sum
}

// touchPoint loads the point of row that the digit d selects, if any,
// and returns a sum of the words it loaded.
func touchPoint(row []niels, d int) uint64 {
	if d == 0 {
		return 0
	}
	if d < 0 {
		d = -d
	}
	// A point is 120 bytes, on two or three cache lines: a word at its
	// start, 64 bytes on and at its end loads them all.
	p := unsafe.Pointer(&row[d-1])
	return *(*uint64)(p) + *(*uint64)(unsafe.Add(p, 64)) + *(*uint64)(unsafe.Add(p, unsafe.Sizeof(niels{})-8))
}

// touched counts the verifications whose touched words summed to 0, a
// use of the sum that keeps the compiler from dropping the loads.
var touched atomic.Uint64

// addDigit adds d·(row's point), or subtracts it if neg, for a signed
// digit d with |d| at most len(row).
func (v *extended) addDigit(row []niels, d int, neg bool) {
	switch {
	case d > 0:
		v.add(&row[d-1], neg)
	case d < 0:
		v.add(&row[-d-1], !neg)
	}
}

// encode returns the 32-byte encoding of v: y, with the sign of x in the
// top bit (RFC 8032, 5.1.2).
func (v *extended) encode() [32]byte {
	var zinv, x, y field.Element
	zinv.Invert(&v.z)
	x.Multiply(&v.x, &zinv)
	y.Multiply(&v.y, &zinv)
	var out [32]byte
	copy(out[:], y.Bytes())
	out[31] |= byte(x.IsNegative() << 7)
	return out
}

// radix256 returns the signed base-256 digits of a scalar below 2^255 in
// little-endian bytes: s = Σ d_i·256^i, each d_i in [−128, 128) but the
// top one, in [0, 128].
func radix256(s []byte) [32]int16 {
	var d [32]int16
	var carry int16
	for i, b := range s[:32] {
		v := int16(b) + carry
		carry = (v + 128) >> 8
		d[i] = v - carry<<8
	}
	d[31] += carry << 8 // below 2^255: the top digit takes it, at most 128
	return d
}

// radix16 returns the signed base-16 digits of a scalar below 2^255 in
// little-endian bytes: s = Σ d_i·16^i, each d_i in [−8, 8).
func radix16(s []byte) [64]int8 {
	var d [64]int8
	for i, b := range s[:32] {
		d[2*i] = int8(b & 15)
		d[2*i+1] = int8(b >> 4)
	}
	for i := range 63 {
		carry := (d[i] + 8) >> 4
		d[i] -= carry << 4
		d[i+1] += carry
	}
	return d
}
