package pgstore

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

// fenceCTE is the fence every state-writing statement carries: the lease
// row, if $1..$3 (group, holder, token) still hold it by the database
// clock. A write joins it, and the statement returns whether it held, so a
// stale holder's write changes nothing and is reported as fenced.
const fenceCTE = `fence AS (
	SELECT 1 FROM {s}.leases
	WHERE grp = $1 AND holder = $2 AND token = $3 AND NOT released AND expires > clock_timestamp()
)`

// fenced wraps one write in the fence: w is a data-modifying statement
// that references fence; the result is one boolean, whether it held.
func fenced(extraCTEs, w string) string {
	return "WITH " + fenceCTE + extraCTEs + ",\nw AS (" + w + ")\nSELECT EXISTS (SELECT 1 FROM fence)"
}

const pairColumns = `tbl, sn_id, sf_id, snap_sn, snap_sf, ver_sn, ver_sf, updated_sn, updated_sf, origin,
	backref_pending, pending, tombstone, first_synced, last_synced, writes, hash_sn`

const dlqColumns = `stream, source_id, permanent, deferred, attempts, next_attempt, last_error, first_failed`

const conflictColumns = `at, tbl, sn_id, sf_id, key, sn_value, sf_value, winner, rule`

// queries are the statements of one schema.
type queries struct {
	acquireLease, leaseHolder, releaseLease, lockLease string
	heartbeat, leave                                   string

	stream, putStream                               string
	pairBySN, pairBySF, pairsPage, countPairs       string
	sfIDsBySN                                       string
	putPairs, deletePair                            string
	dlqEntry, dueDLQ, dlqEntries, putDLQ, deleteDLQ string
	claimDueDLQ                                     string
	intent, putIntent, deleteIntent                 string
	conflicts, addConflict                          string
	stats                                           string
}

func buildQueries(schema string) queries {
	r := strings.NewReplacer("{s}", pgx.Identifier{schema}.Sanitize())
	q := queries{
		// A new holder (or the same one after its lease ended) gets the
		// next token; a live holder renewing keeps its token. The checks
		// run on the row as locked, after waiting out any Update that
		// holds it, against the database clock.
		acquireLease: `INSERT INTO {s}.leases AS l (grp, holder, token, expires, released, acquired_at, renewed_at)
VALUES ($1, $2, 1, clock_timestamp() + $3::bigint * interval '1 microsecond', false, clock_timestamp(), clock_timestamp())
ON CONFLICT (grp) DO UPDATE SET
	token = CASE WHEN l.holder = EXCLUDED.holder AND NOT l.released AND l.expires > clock_timestamp() THEN l.token ELSE l.token + 1 END,
	acquired_at = CASE WHEN l.holder = EXCLUDED.holder AND NOT l.released AND l.expires > clock_timestamp() THEN l.acquired_at ELSE EXCLUDED.acquired_at END,
	holder = EXCLUDED.holder,
	expires = EXCLUDED.expires,
	released = false,
	renewed_at = EXCLUDED.renewed_at,
	released_at = NULL
WHERE l.holder = EXCLUDED.holder OR l.released OR l.expires <= clock_timestamp()
RETURNING token, expires`,
		leaseHolder: `SELECT holder, expires FROM {s}.leases WHERE grp = $1`,
		releaseLease: `UPDATE {s}.leases SET released = true, released_at = clock_timestamp()
WHERE grp = $1 AND holder = $2 AND token = $3 AND NOT released`,
		// Update's first statement: lock the group's lease row for the
		// transaction (a takeover, a renewal, a release and every other
		// Update of the group wait for our commit), then check it. The
		// CTE makes the expiry check run after the lock is granted.
		lockLease: `WITH l AS (SELECT holder, token, released, expires FROM {s}.leases WHERE grp = $1 FOR NO KEY UPDATE)
SELECT holder, token, released, expires, expires > clock_timestamp() FROM l`,

		// A heartbeat upserts the replica's row and reads the live ones
		// (the upsert is not visible to the same statement's read, hence
		// the union); rows dead for a day are swept on the way.
		heartbeat: `WITH up AS (
	INSERT INTO {s}.replicas AS r (holder, alive_until, seen_at, tables)
	VALUES ($1, clock_timestamp() + $2::bigint * interval '1 microsecond', clock_timestamp(), $3::text[])
	ON CONFLICT (holder) DO UPDATE SET alive_until = EXCLUDED.alive_until, seen_at = EXCLUDED.seen_at, tables = EXCLUDED.tables
	RETURNING holder, tables
), sweep AS (
	DELETE FROM {s}.replicas WHERE alive_until < clock_timestamp() - interval '1 day' AND holder <> $1
)
SELECT holder, tables FROM {s}.replicas WHERE alive_until > clock_timestamp() AND holder <> $1
UNION ALL SELECT holder, tables FROM up
ORDER BY 1`,
		leave: `DELETE FROM {s}.replicas WHERE holder = $1`,

		stream: `SELECT state FROM {s}.streams WHERE id = $1`,
		putStream: fenced("", `INSERT INTO {s}.streams (id, state, updated_at)
	SELECT $4::text, $5::jsonb, now() FROM fence
	ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
	RETURNING 1`),

		pairBySN:   `SELECT ` + pairColumns + ` FROM {s}.pairs WHERE tbl = $1 AND sn_id = $2`,
		sfIDsBySN:  `SELECT sn_id, sf_id FROM {s}.pairs WHERE tbl = $1 AND sn_id = ANY($2::text[]) AND sf_id <> ''`,
		pairBySF:   `SELECT ` + pairColumns + ` FROM {s}.pairs WHERE tbl = $1 AND sf_id = $2 AND sf_id <> ''`,
		pairsPage:  `SELECT ` + pairColumns + ` FROM {s}.pairs WHERE tbl = $1 AND sn_id > $2 ORDER BY sn_id LIMIT $3`,
		countPairs: `SELECT count(*) FROM {s}.pairs WHERE tbl = $1`,
		// putPairs writes a batch of pairs (arrays, one element per pair,
		// in the order they were put; each (table, ServiceNow id) once) in
		// one statement, if the fence holds and no pair outside the batch
		// holds one of their StackFlow ids. A stored pair that the batch
		// moves to another StackFlow id frees its old one. It returns the
		// fence's answer, the first duplicate found, and the rows written.
		putPairs: `WITH ` + fenceCTE + `,
input AS (
	SELECT * FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[],
		$11::timestamptz[], $12::timestamptz[], $13::text[], $14::boolean[], $15::text[], $16::text[],
		$17::timestamptz[], $18::timestamptz[], $19::text[], $20::text[])
	WITH ORDINALITY AS i(tbl, sn_id, sf_id, snap_sn, snap_sf, ver_sn, ver_sf, updated_sn, updated_sf, origin,
		backref_pending, pending, tombstone, first_synced, last_synced, writes, hash_sn, ord)
),
dup AS (
	SELECT i.tbl, i.sf_id, i.sn_id AS want, p.sn_id AS holder
	FROM input i JOIN {s}.pairs p ON p.tbl = i.tbl AND p.sf_id = i.sf_id AND p.sf_id <> '' AND p.sn_id <> i.sn_id
	WHERE NOT EXISTS (SELECT 1 FROM input j WHERE j.tbl = p.tbl AND j.sn_id = p.sn_id AND j.sf_id <> p.sf_id)
	ORDER BY i.ord
	LIMIT 1
),
w AS (
	INSERT INTO {s}.pairs (` + pairColumns + `)
	SELECT tbl, sn_id, sf_id, snap_sn::jsonb, snap_sf::jsonb, ver_sn, ver_sf, updated_sn, updated_sf, origin,
		backref_pending, pending::jsonb, tombstone::jsonb, first_synced, last_synced, writes::timestamptz[], hash_sn
	FROM input
	WHERE EXISTS (SELECT 1 FROM fence) AND NOT EXISTS (SELECT 1 FROM dup)
	ORDER BY ord
	ON CONFLICT (tbl, sn_id) DO UPDATE SET
		sf_id = EXCLUDED.sf_id, snap_sn = EXCLUDED.snap_sn, snap_sf = EXCLUDED.snap_sf,
		ver_sn = EXCLUDED.ver_sn, ver_sf = EXCLUDED.ver_sf, updated_sn = EXCLUDED.updated_sn, updated_sf = EXCLUDED.updated_sf,
		origin = EXCLUDED.origin, backref_pending = EXCLUDED.backref_pending, pending = EXCLUDED.pending,
		tombstone = EXCLUDED.tombstone, first_synced = EXCLUDED.first_synced, last_synced = EXCLUDED.last_synced,
		writes = EXCLUDED.writes, hash_sn = EXCLUDED.hash_sn
	RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM fence), d.tbl, d.sf_id, d.want, d.holder, (SELECT count(*) FROM w)
FROM (SELECT 1) one LEFT JOIN dup d ON true`,
		deletePair: fenced("", `DELETE FROM {s}.pairs WHERE tbl = $4 AND sn_id = $5 AND EXISTS (SELECT 1 FROM fence) RETURNING 1`),

		dlqEntry:   `SELECT ` + dlqColumns + ` FROM {s}.dlq WHERE stream = $1 AND source_id = $2`,
		dueDLQ:     `SELECT ` + dlqColumns + ` FROM {s}.dlq WHERE stream = $1 AND NOT permanent AND next_attempt <= $2 ORDER BY next_attempt, source_id LIMIT $3`,
		dlqEntries: `SELECT ` + dlqColumns + ` FROM {s}.dlq WHERE stream = $1 ORDER BY source_id`,
		putDLQ: fenced("", `INSERT INTO {s}.dlq (`+dlqColumns+`)
	SELECT $4::text, $5::text, $6::boolean, $7::boolean, $8::bigint, $9::timestamptz, $10::text, $11::timestamptz FROM fence
	ON CONFLICT (stream, source_id) DO UPDATE SET
		permanent = EXCLUDED.permanent, deferred = EXCLUDED.deferred, attempts = EXCLUDED.attempts,
		next_attempt = EXCLUDED.next_attempt, last_error = EXCLUDED.last_error, first_failed = EXCLUDED.first_failed
	RETURNING 1`),
		deleteDLQ: fenced("", `DELETE FROM {s}.dlq WHERE stream = $4 AND source_id = $5 AND EXISTS (SELECT 1 FROM fence) RETURNING 1`),
		// A claim is one statement in its own transaction: the fence
		// share-locks the lease row (claims run side by side; a takeover
		// waits for them), SKIP LOCKED hands rows another claim has locked
		// to nobody else, and moving next_attempt to the end of the hold
		// keeps them from being due again once that claim commits. The
		// left join returns the fence's answer even when nothing is due.
		claimDueDLQ: `WITH fence AS (
	SELECT 1 FROM {s}.leases
	WHERE grp = $1 AND holder = $2 AND token = $3 AND NOT released AND expires > clock_timestamp()
	FOR SHARE
),
c AS MATERIALIZED (
	SELECT ` + dlqColumns + ` FROM {s}.dlq
	WHERE stream = $4 AND NOT permanent AND next_attempt <= $5 AND EXISTS (SELECT 1 FROM fence)
	ORDER BY next_attempt, source_id
	LIMIT $6
	FOR UPDATE SKIP LOCKED
),
u AS (
	UPDATE {s}.dlq d SET next_attempt = $7 FROM c WHERE d.stream = c.stream AND d.source_id = c.source_id RETURNING 1
)
SELECT f.held, c.stream, c.source_id, c.permanent, c.deferred, c.attempts, c.next_attempt, c.last_error, c.first_failed
FROM (SELECT EXISTS (SELECT 1 FROM fence) AS held) f LEFT JOIN c ON true
ORDER BY c.next_attempt, c.source_id`,

		intent: `SELECT stream, source_id, attempt, created FROM {s}.intents WHERE stream = $1 AND source_id = $2`,
		putIntent: fenced("", `INSERT INTO {s}.intents (stream, source_id, attempt, created)
	SELECT $4::text, $5::text, $6::bigint, $7::timestamptz FROM fence
	ON CONFLICT (stream, source_id) DO UPDATE SET attempt = EXCLUDED.attempt, created = EXCLUDED.created
	RETURNING 1`),
		deleteIntent: fenced("", `DELETE FROM {s}.intents WHERE stream = $4 AND source_id = $5 AND EXISTS (SELECT 1 FROM fence) RETURNING 1`),

		conflicts: `SELECT ` + conflictColumns + ` FROM {s}.conflicts WHERE tbl = $1 ORDER BY seq DESC LIMIT $2`,
		addConflict: fenced("", `INSERT INTO {s}.conflicts (`+conflictColumns+`)
	SELECT $4::timestamptz, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text, $11::text, $12::text FROM fence
	RETURNING 1`),
	}
	var stats strings.Builder
	for i, name := range storeTables {
		if i > 0 {
			stats.WriteString("\nUNION ALL\n")
		}
		rel := "{s}." + name
		stats.WriteString(`SELECT '` + name + `', (SELECT count(*) FROM ` + rel + `), pg_total_relation_size('` + rel + `'),
	pg_table_size('` + rel + `'), pg_indexes_size('` + rel + `')`)
	}
	q.stats = stats.String()

	for _, p := range []*string{
		&q.acquireLease, &q.leaseHolder, &q.releaseLease, &q.lockLease, &q.heartbeat, &q.leave,
		&q.stream, &q.putStream, &q.pairBySN, &q.sfIDsBySN, &q.pairBySF, &q.pairsPage, &q.countPairs, &q.putPairs, &q.deletePair,
		&q.dlqEntry, &q.dueDLQ, &q.dlqEntries, &q.putDLQ, &q.deleteDLQ, &q.claimDueDLQ,
		&q.intent, &q.putIntent, &q.deleteIntent, &q.conflicts, &q.addConflict, &q.stats,
	} {
		*p = r.Replace(*p)
	}
	return q
}
