package sf

import "time"

// crockford is the ULID alphabet: ascending in ASCII, so ids sort as the
// numbers they encode.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idGen makes ULID-like suffixes: 10 characters of milliseconds and 16 of
// a counter. They are strictly increasing even when the clock stands still
// or moves backwards (the last millisecond is reused and the counter goes
// up), so ids sort in creation order. Guarded by the server's mutex.
type idGen struct {
	lastMS int64
	seq    uint64
}

func (g *idGen) next(now time.Time) string {
	ms := max(now.UnixMilli(), 0)
	if ms <= g.lastMS {
		ms = g.lastMS
		g.seq++
	} else {
		g.lastMS, g.seq = ms, 0
	}
	var b [26]byte
	for i := 9; i >= 0; i-- {
		b[i] = crockford[ms&31]
		ms >>= 5
	}
	seq := g.seq
	for i := 25; i >= 10; i-- {
		b[i] = crockford[seq&31]
		seq >>= 5
	}
	return string(b[:])
}
