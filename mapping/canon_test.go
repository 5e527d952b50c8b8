package mapping

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"
)

func TestCanonHashIsStableAndKnown(t *testing.T) {
	c := Canon{"state": "7", "title": "Mail down"}
	assert.Equal(t, "canon1;5:state1:75:title9:Mail down", string(c.AppendEncoding(nil)))
	assert.Equal(t, c.Hash(), Canon{"title": "Mail down", "state": "7"}.Hash())
	assert.Len(t, c.Hash(), 64)
	assert.Equal(t, Canon(nil).Hash(), Canon{}.Hash(), "nil and empty hash alike")
	assert.NotEqual(t, c.Hash(), Canon{"state": "7", "title": "Mail down "}.Hash())
	// Length prefixes keep values from bleeding into keys.
	assert.NotEqual(t, Canon{"a": "bc"}.Hash(), Canon{"ab": "c"}.Hash())
	assert.NotEqual(t, Canon{"a": ""}.Hash(), Canon{}.Hash(), "an empty value is not an absent key for hashing")
}

func TestCanonEqualDiffWith(t *testing.T) {
	base := Canon{"a": "1", "b": "2", "c": "3"}
	cur := Canon{"a": "1", "b": "20", "d": "4"}
	assert.Equal(t, []string{"b", "c", "d"}, cur.Diff(base))
	assert.Equal(t, []string{"a", "b", "d"}, cur.Diff(nil), "no base: every key")
	assert.Empty(t, base.Diff(base.Clone()))
	assert.True(t, base.Equal(base.Clone()))
	assert.False(t, base.Equal(cur))
	assert.True(t, Canon(nil).Equal(Canon{}))
	assert.Equal(t, Canon{"a": "1", "b": "20", "c": "3", "d": "4"}, base.With(Canon{"b": "20", "d": "4"}))
	assert.Equal(t, Canon{"a": "1", "b": "2", "c": "3"}, base, "With does not modify its receiver")
	assert.Nil(t, Canon(nil).Clone())
}

// TestCanonHashProperties: equal maps give equal bytes and hashes however
// they were built; different maps give different encodings.
func TestCanonHashProperties(t *testing.T) {
	gen := rapid.MapOf(rapid.String(), rapid.String())
	rapid.Check(t, func(t *rapid.T) {
		m := gen.Draw(t, "m")
		c := Canon(m)
		keys := c.Keys()
		order := rapid.Permutation(keys).Draw(t, "order")
		d := Canon{}
		for _, k := range order {
			d[k] = c[k]
		}
		if !bytes.Equal(c.AppendEncoding(nil), d.AppendEncoding(nil)) || c.Hash() != d.Hash() {
			t.Fatalf("equal maps encode differently")
		}
		if !c.Equal(d) || len(c.Diff(d)) != 0 {
			t.Fatalf("equal maps compare unequal")
		}
		e := Canon(gen.Draw(t, "e"))
		if !c.Equal(e) && bytes.Equal(c.AppendEncoding(nil), e.AppendEncoding(nil)) {
			t.Fatalf("different maps %v and %v share an encoding", c, e)
		}
		if c.Equal(e) != (len(c.Diff(e)) == 0) {
			t.Fatalf("Equal and Diff disagree on %v and %v", c, e)
		}
	})
}

// TestNormalisationIsIdempotent: canonical text stays canonical.
func TestNormalisationIsIdempotent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(rapid.String(), rapid.StringMatching(`[ \t\r\n]*[a-zé\x{0301}\x{00A0}\r\n ]{0,300}[ \t\r\n]*`)).Draw(t, "s")
		for name, f := range map[string]func(string) string{"text": normText, "line": normLine, "title": normTitle} {
			once := f(s)
			if again := f(once); again != once {
				t.Fatalf("%s(%q) = %q, again %q", name, s, once, again)
			}
		}
	})
}

func TestNormalisationExamples(t *testing.T) {
	assert.Equal(t, "a\nb\nc", normText("a\r\nb\rc"))
	assert.Equal(t, "é", normText("e\u0301"), "NFC")
	assert.Equal(t, "x", normLine("  x \t"))
	long := normTitle(" " + string(bytes.Repeat([]byte("a"), 254)) + " bcd")
	assert.Equal(t, string(bytes.Repeat([]byte("a"), 254)), long, "truncated to 255 code points, then trimmed")
	for in, want := range map[string]string{"2": "2", "2.0": "2", "02": "2", "-0": "0", "2.50": "2.5", "1e3": "1000"} {
		got, ok := canonNumber(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	got, ok := canonInt("1,234")
	assert.True(t, ok)
	assert.Equal(t, "1234", got)
	_, ok = canonInt("12abc")
	assert.False(t, ok)
	ts, ok := parseSFTime("2026-03-10T21:30:00.123456+01:00")
	assert.True(t, ok)
	assert.Equal(t, "2026-03-10T20:30:00.123Z", ts)
}
