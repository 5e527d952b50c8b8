package boltstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// Bucket names (see the package doc for the key layout of each).
var (
	bktStreams   = []byte("streams")
	bktPairs     = []byte("pairs")
	bktIdxSF     = []byte("idx_sf")
	bktDLQ       = []byte("dlq")
	bktDLQDue    = []byte("dlq_due")
	bktIntents   = []byte("intents")
	bktConflicts = []byte("conflicts")
	bktLeases    = []byte("leases")
	bktMeta      = []byte("meta")

	allBuckets = [][]byte{bktStreams, bktPairs, bktIdxSF, bktDLQ, bktDLQDue, bktIntents, bktConflicts, bktLeases, bktMeta}
)

// Keys of the meta bucket.
var (
	metaSchemaVersion = []byte("schema_version")
	metaFormat        = []byte("format")
	formatName        = []byte("snowsync-state")
)

// schemaVersion is the layout this code reads and writes. Bump it, and add
// a migration from the previous version in initSchema, whenever the layout
// or a value encoding changes incompatibly.
const schemaVersion = 1

// sep joins the parts of a composite key. Ids may not contain it.
const sep = 0

// timeLen is the length of an encoded time in a key.
const timeLen = 12

// MaxIDLen is the longest id (table, ServiceNow or StackFlow id, stream,
// source id) the store takes, in bytes: two of them and a time must fit in
// one bbolt key.
const MaxIDLen = 8 << 10

// checkID rejects ids that would make composite keys ambiguous or too long
// for bbolt.
func checkID(op, what, id string) error {
	if len(id) > MaxIDLen {
		return fmt.Errorf("%w: %s: %s is %d bytes long, more than %d", ErrInvalid, op, what, len(id), MaxIDLen)
	}
	if strings.IndexByte(id, sep) >= 0 {
		return fmt.Errorf("%w: %s: %s %q contains a NUL byte", ErrInvalid, op, what, id)
	}
	return nil
}

// key2 returns a\x00b.
func key2(a, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, sep)
	return append(k, b...)
}

// prefix returns a\x00, the prefix of every key2(a, ...).
func prefix(a string) []byte {
	k := make([]byte, 0, len(a)+1)
	k = append(k, a...)
	return append(k, sep)
}

// prefixEnd returns the smallest key after every key that starts with
// prefix(a).
func prefixEnd(a string) []byte {
	k := make([]byte, 0, len(a)+1)
	k = append(k, a...)
	return append(k, sep+1)
}

// appendTime appends t so that byte order is time order, for every time
// time.Time can hold: seconds since 1970 with the sign bit flipped, then
// nanoseconds, both big-endian.
func appendTime(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

// dueKey returns stream\x00<time>\x00sourceID, the dlq_due key of an entry.
func dueKey(stream string, next time.Time, sourceID string) []byte {
	k := make([]byte, 0, len(stream)+2+timeLen+len(sourceID))
	k = append(k, stream...)
	k = append(k, sep)
	k = appendTime(k, next)
	k = append(k, sep)
	return append(k, sourceID...)
}

// splitDueKey returns the encoded time and the source id of a dlq_due key
// that starts with pre.
func splitDueKey(k, pre []byte) (tm []byte, sourceID string, ok bool) {
	rest := k[len(pre):]
	if len(rest) < timeLen+1 || rest[timeLen] != sep {
		return nil, "", false
	}
	return rest[:timeLen], string(rest[timeLen+1:]), true
}

// seqKey returns table\x00<seq>, the conflicts key; big-endian so a cursor
// walks one table's conflicts in the order they were added.
func seqKey(table string, seq uint64) []byte {
	k := make([]byte, 0, len(table)+1+8)
	k = append(k, table...)
	k = append(k, sep)
	return binary.BigEndian.AppendUint64(k, seq)
}

// hasPrefix reports whether k is non-nil and starts with p.
func hasPrefix(k, p []byte) bool { return k != nil && bytes.HasPrefix(k, p) }
