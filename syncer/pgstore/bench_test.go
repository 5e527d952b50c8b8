package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stackflow-tech/snowsync/syncer"
)

const (
	benchPairs = 100_000
	benchBatch = 1_000
)

// sysID returns a ServiceNow-like sys_id (32 hex digits, in no order, as
// real ones are) for record i.
func sysID(i int) string {
	h := sha256.Sum256(fmt.Appendf(nil, "record-%d", i))
	return hex.EncodeToString(h[:16])
}

// benchPair is an incident pair of a realistic size: about a dozen synced
// fields on each side (the same shape as boltstore's benchmark).
func benchPair(i int) *syncer.Pair {
	sn := map[string]string{
		"number": fmt.Sprintf("INC%07d", i), "state": "2", "impact": "2", "urgency": "3", "priority": "4",
		"short_description": "VPN gateway drops sessions for the Berlin office",
		"description":       "Users in Berlin lose their VPN session every 20 minutes since the firmware update.",
		"assignment_group":  "d625dccec0a8016700a222a0f7900d06", "assigned_to": "46d44a23a9fe19810012d100cca80666",
		"caller_id": "5137153cc611227c000bbd1bd8cd2005", "category": "network", "subcategory": "vpn",
	}
	sf := map[string]string{
		"title": sn["short_description"], "description": sn["description"], "status": "in_progress",
		"priority": "low", "impact": "medium", "urgency": "low", "team": "team_network", "assignee": "usr_2931",
		"reporter": "usr_0042", "category": "network", "subcategory": "vpn", "external_id": sysID(i),
	}
	return &syncer.Pair{
		Table: "incident", SNID: sysID(i), SFID: fmt.Sprintf("inc_%08d", i), SnapSN: sn, SnapSF: sf,
		VerSN: 7, VerSF: 5, UpdatedSN: t0, UpdatedSF: t0.Add(time.Second), Origin: "servicenow",
		FirstSynced: t0, LastSynced: t0.Add(time.Minute), Writes: []time.Time{t0, t0.Add(time.Minute)},
	}
}

func fill(b *testing.B, s *Store, l syncer.Lease, n int) {
	b.Helper()
	for start := 0; start < n; start += benchBatch {
		err := s.Update(context.Background(), l, func(tx syncer.Tx) error {
			for i := start; i < start+benchBatch && i < n; i++ {
				if err := tx.PutPair(benchPair(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutPairs writes 100,000 pairs in Updates of 1,000 into a new
// schema, and reports records/s and the tables' size on disk. The numbers
// depend on the server: the throwaway test cluster runs with fsync off;
// point SNOWSYNC_PG_URL at a durable server for production-like numbers.
func BenchmarkPutPairs(b *testing.B) {
	db := testDB(b)
	var (
		st      Stats
		elapsed time.Duration
	)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := Open(context.Background(), db, WithSchema(fmt.Sprintf("bench%d", i)))
		if err != nil {
			b.Fatal(err)
		}
		l, err := s.AcquireLease(context.Background(), "incident", "bench", time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		fill(b, s, l, benchPairs)
		elapsed += time.Since(start)
		b.StopTimer()
		if _, err := s.pool.Exec(context.Background(), "VACUUM ANALYZE "+s.Schema()+".pairs"); err != nil {
			b.Fatal(err)
		}
		if st, err = s.Stats(context.Background()); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchPairs*b.N)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(st.TotalBytes), "total-bytes")
	b.ReportMetric(float64(st.TotalBytes)/benchPairs, "bytes/pair")
	for _, ts := range st.Tables {
		if ts.Name == "pairs" {
			b.ReportMetric(float64(ts.TableBytes), "pairs-table-bytes")
			b.ReportMetric(float64(ts.IndexBytes), "pairs-index-bytes")
		}
	}
}

// BenchmarkSmallUpdate is one record's outcome per Update (the smallest
// transaction the syncer commits: a pair and the cursor past it) in a
// store of 10,000 pairs.
func BenchmarkSmallUpdate(b *testing.B) {
	s := openStore(b, testDB(b), WithSchema(newSchema()))
	l, err := s.AcquireLease(context.Background(), "incident", "bench", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	const n = 10_000
	fill(b, s, l, n)
	i := 0
	for b.Loop() {
		p := benchPair(i * 7919 % n)
		p.VerSN++
		err := s.Update(context.Background(), l, func(tx syncer.Tx) error {
			if err := tx.PutPair(p); err != nil {
				return err
			}
			return tx.PutStream(&syncer.StreamState{ID: "incident/sn", Cursor: syncer.Cursor{Time: t0, ID: p.SNID}})
		})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPairBySN looks pairs up by ServiceNow id in a store of 10,000
// pairs, one lookup per View and many in one View.
func BenchmarkPairBySN(b *testing.B) {
	s := openStore(b, testDB(b), WithSchema(newSchema()))
	l, err := s.AcquireLease(context.Background(), "incident", "bench", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	const n = 10_000
	fill(b, s, l, n)
	lookup := func(tx syncer.ReadTx, i int) {
		p, err := tx.PairBySN("incident", sysID(i*7919%n))
		if err != nil || p == nil {
			b.Fatalf("lookup %d: %v %v", i, p, err)
		}
	}
	b.Run("one per View", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if err := s.View(context.Background(), func(tx syncer.ReadTx) error { lookup(tx, i); return nil }); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("many in one View", func(b *testing.B) {
		if err := s.View(context.Background(), func(tx syncer.ReadTx) error {
			i := 0
			for b.Loop() {
				lookup(tx, i)
				i++
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	})
}
