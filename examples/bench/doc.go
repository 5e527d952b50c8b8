// Command bench measures snowsync against its performance targets and
// prints one Markdown table: each figure next to its target, PASS or MISS.
// It exits 0 when every figure meets its target, 3 when one misses (after
// printing the table, and naming the misses on standard error), 1 when a
// section cannot run and 2 for a bad command line.
//
//	go run ./examples/bench              # full scale, a few minutes
//	go run ./examples/bench -quick       # 1/10 scale, for CI smoke tests
//	go run ./examples/bench -only 1,3    # some sections
//	go run ./examples/bench -out examples/bench/RESULTS.md
//
// The sections:
//
//  1. Client read path: All over 100,000 realistic incidents (about 60
//     fields, references included), typed (Incidents().All) and raw
//     (Table("incident").All), against a bare net/http + encoding/json
//     decode of the same pages from the same fake instance: records/s, the
//     time ratio, allocations per record and peak heap (at 10,000 and
//     100,000 records). The variants run interleaved, three rounds; the
//     table shows medians. After a warm-up walk, a cache in front of the
//     fake replays its answers, so the timed walks measure the client.
//  2. Initial load: 100,000 CIs (cmdb_ci_linux_server rows) and 150,000
//     relationships from the fake ServiceNow to the fake StackFlow, with the
//     bbolt store on disk: records/s, API calls per record on each side,
//     peak RSS of the syncer and the store's size.
//  3. Idle cycle: a cycle with nothing to do on 1,000 and 100,000 incidents
//     (two streams) and CIs (one stream): requests, and time (the median of
//     101 cycles per size, the sizes taking turns: one cycle is a few ms
//     and too noisy for a median of five). The delete scan, deep re-read
//     and reconciliation are not due in these cycles; one delete scan is
//     measured apart.
//  4. Bidirectional churn: 1,000 synced incidents edited on both sides,
//     some on both at once: API calls per changed record (less an idle
//     cycle's fixed reads, so the figure is the same at any scale),
//     conflicts, and the echoes the next cycle skips.
//  5. Rate limit: a ServiceNow client limited to 10 requests/s draining a
//     backlog: the request rate the fake saw, against the limit.
//
// So that memory figures measure only the client or the syncer, the fakes
// of sections 1 and 2 run in a child process (this binary re-executed with
// a hidden -serve-fakes flag) that exits when its standard input closes,
// and the load of section 2 runs in a second child (-measure-load) whose
// peak RSS (VmHWM) covers the load alone. Sections 3 to 5 move the fakes'
// clock or read their request logs, and run them in process.
//
// Timing figures depend on the machine and on what else runs on it: quote
// them from one run on a quiet machine, side by side. -cpuprofile writes a
// CPU profile of this process and, for section 2, of the load child
// (FILE.load).
package main
