package boltstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/stackflow-tech/snowsync/syncer"
)

// fileMode is the mode of a new store file: sync state is the operator's
// alone.
const fileMode os.FileMode = 0o600

// compactTxMaxSize bounds each transaction CompactTo writes.
const compactTxMaxSize = 64 << 20

// Store is the embedded syncer.Store on one bbolt file. It is safe for
// concurrent use by the goroutines of one process; the file lock keeps
// other processes out. Do not call the Store's own methods from inside an
// Update or View callback: bbolt has one writer at a time and would
// deadlock.
type Store struct {
	db   *bolt.DB
	now  func() time.Time
	path string
}

var _ syncer.Store = (*Store)(nil)

// Open opens the store at path, creating the file (mode 0600) and its
// buckets when it does not exist. It takes the file's exclusive lock: while
// another process holds it, Open waits up to the open timeout and then
// fails with ErrLocked. It refuses a file of a newer schema
// (ErrSchemaTooNew) and a file that is not a snowsync store (ErrNotStore).
// The directory must exist.
func Open(path string, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: Open: the path is empty", ErrInvalid)
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	db, err := bolt.Open(path, fileMode, &bolt.Options{
		Timeout:      o.openTimeout,
		NoSync:       o.noSync,
		FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return nil, fmt.Errorf("%w: another snowsync process holds %s (no lock within %s)", ErrLocked, path, o.openTimeout)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrChecksum):
			return nil, fmt.Errorf("%w: %s: %w", ErrNotStore, path, err)
		}
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	s := &Store{db: db, now: o.now, path: path}
	if err := s.initSchema(); err != nil {
		_ = db.Close() // the schema error is the one to report
		return nil, err
	}
	return s, nil
}

// initSchema creates the buckets of a new file, and checks the schema
// version of an existing one.
func (s *Store) initSchema() error {
	return s.db.Update(func(btx *bolt.Tx) error {
		meta := btx.Bucket(bktMeta)
		if meta == nil {
			// A new file has no bucket at all; anything else is another
			// program's data, which we must not touch.
			if k, _ := btx.Cursor().First(); k != nil {
				return fmt.Errorf("%w: %s is a bbolt file without snowsync's meta bucket", ErrNotStore, s.path)
			}
			for _, name := range allBuckets {
				if _, err := btx.CreateBucket(name); err != nil {
					return fmt.Errorf("boltstore: create bucket %s: %w", name, err)
				}
			}
			meta = btx.Bucket(bktMeta)
			if err := meta.Put(metaFormat, formatName); err != nil {
				return fmt.Errorf("boltstore: write meta: %w", err)
			}
			if err := meta.Put(metaSchemaVersion, []byte(strconv.Itoa(schemaVersion))); err != nil {
				return fmt.Errorf("boltstore: write meta: %w", err)
			}
			return nil
		}
		if string(meta.Get(metaFormat)) != string(formatName) {
			return fmt.Errorf("%w: %s has a meta bucket but no snowsync format marker", ErrNotStore, s.path)
		}
		raw := meta.Get(metaSchemaVersion)
		v, err := strconv.Atoi(string(raw))
		if err != nil || v < 1 {
			return fmt.Errorf("%w: %s has an unreadable schema version %q", ErrNotStore, s.path, raw)
		}
		if v > schemaVersion {
			return fmt.Errorf("%w: %s has schema version %d, this snowsync knows up to %d: upgrade snowsync",
				ErrSchemaTooNew, s.path, v, schemaVersion)
		}
		// v == schemaVersion: the first layout, nothing to migrate yet.
		for _, name := range allBuckets {
			if btx.Bucket(name) == nil {
				return fmt.Errorf("%w: %s lacks bucket %s", ErrCorrupt, s.path, name)
			}
		}
		return nil
	})
}

// Path returns the store file's path.
func (s *Store) Path() string { return s.path }

// Size returns the store file's size in bytes. bbolt never shrinks the
// file: pages freed by deletes are reused, not returned (see CompactTo).
func (s *Store) Size() (int64, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, fmt.Errorf("boltstore: size: %w", err)
	}
	return fi.Size(), nil
}

// Close waits for open transactions to finish, then releases the file and
// its lock. Later calls return syncer.ErrClosed; closing twice is harmless.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close %s: %w", s.path, err)
	}
	return nil
}

// mapErr turns bbolt's closed-database error into syncer.ErrClosed.
func mapErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return syncer.ErrClosed
	}
	return err
}

// leaseRecord is the stored state of one group's lease. Token is also the
// group's token counter: a released lease keeps it (with no holder), so
// tokens never go back, not even across a reopen.
type leaseRecord struct {
	Holder  string    `json:"holder,omitempty"`
	Token   int64     `json:"token"`
	Expires time.Time `json:"expires"`
}

func getLease(b *bolt.Bucket, group string) (leaseRecord, error) {
	var rec leaseRecord
	v := b.Get([]byte(group))
	if v == nil {
		return rec, nil
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, fmt.Errorf("%w: lease %q: %w", ErrCorrupt, group, err)
	}
	return rec, nil
}

func putLease(b *bolt.Bucket, group string, rec leaseRecord) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("boltstore: encode lease %q: %w", group, err)
	}
	if err := b.Put([]byte(group), v); err != nil {
		return fmt.Errorf("boltstore: write lease %q: %w", group, err)
	}
	return nil
}

// AcquireLease implements syncer.Store. It takes the lease on group for
// holder in its own transaction, or renews it (same token) when holder
// already has it. A new holder gets the group's next token. The store's
// clock decides expiry.
func (s *Store) AcquireLease(ctx context.Context, group, holder string, ttl time.Duration) (syncer.Lease, error) {
	if err := ctx.Err(); err != nil {
		return syncer.Lease{}, err
	}
	switch {
	case group == "":
		return syncer.Lease{}, fmt.Errorf("%w: AcquireLease: the group is empty", ErrInvalid)
	case holder == "":
		return syncer.Lease{}, fmt.Errorf("%w: AcquireLease: the holder is empty", ErrInvalid)
	case ttl <= 0:
		return syncer.Lease{}, fmt.Errorf("%w: AcquireLease: ttl %s must be positive", ErrInvalid, ttl)
	}
	if err := checkID("AcquireLease", "group", group); err != nil {
		return syncer.Lease{}, err
	}
	var l syncer.Lease
	err := s.db.Update(func(btx *bolt.Tx) error {
		b := btx.Bucket(bktLeases)
		rec, err := getLease(b, group)
		if err != nil {
			return err
		}
		now := s.now()
		live := rec.Holder != "" && now.Before(rec.Expires)
		if live && rec.Holder != holder {
			return fmt.Errorf("%w: %q holds %q until %s", syncer.ErrLeaseHeld, rec.Holder, group, rec.Expires.Format(time.RFC3339Nano))
		}
		if !live {
			rec.Token++ // a new holder, or the same one after expiry
		}
		rec.Holder = holder
		rec.Expires = now.Add(ttl).Round(0)
		if err := putLease(b, group, rec); err != nil {
			return err
		}
		l = syncer.Lease{Group: group, Holder: holder, Token: rec.Token, Expires: rec.Expires}
		return nil
	})
	if err != nil {
		return syncer.Lease{}, mapErr(err)
	}
	return l, nil
}

// ReleaseLease implements syncer.Store. It frees l's group at once if l
// still holds it, and does nothing otherwise. It runs even when ctx is
// already cancelled, since releasing is what a graceful stop does last.
func (s *Store) ReleaseLease(_ context.Context, l syncer.Lease) error {
	if l.Group == "" || l.Holder == "" {
		return nil
	}
	err := s.db.Update(func(btx *bolt.Tx) error {
		b := btx.Bucket(bktLeases)
		rec, err := getLease(b, l.Group)
		if err != nil {
			return err
		}
		if rec.Holder != l.Holder || rec.Token != l.Token {
			return nil
		}
		return putLease(b, l.Group, leaseRecord{Token: rec.Token})
	})
	return mapErr(err)
}

// checkLease returns syncer.ErrFenced unless l is the group's current
// lease by the store's record and clock.
func (s *Store) checkLease(btx *bolt.Tx, l syncer.Lease) error {
	rec, err := getLease(btx.Bucket(bktLeases), l.Group)
	if err != nil {
		return err
	}
	if rec.Holder == "" || rec.Holder != l.Holder || rec.Token != l.Token || !s.now().Before(rec.Expires) {
		return fmt.Errorf("%w (group %q, holder %q, token %d)", syncer.ErrFenced, l.Group, l.Holder, l.Token)
	}
	return nil
}

// View implements syncer.Store: fn runs in a read-only transaction that
// sees one consistent snapshot; it runs alongside other Views and one
// Update.
func (s *Store) View(ctx context.Context, fn func(syncer.ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%w: View: fn is nil", ErrInvalid)
	}
	err := s.db.View(func(btx *bolt.Tx) error {
		t, err := newTx(btx, false)
		if err != nil {
			return err
		}
		defer t.finish()
		return fn(t)
	})
	return mapErr(err)
}

// Update implements syncer.Store: one bbolt read-write transaction that
// first checks the lease record (holder, token, expiry by the store's
// clock), then runs fn, then commits with an fsync. An error from fn, or a
// storage error inside one of the Tx's writes (even one fn ignored), rolls
// everything back. Updates run one at a time.
func (s *Store) Update(ctx context.Context, l syncer.Lease, fn func(syncer.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%w: Update: fn is nil", ErrInvalid)
	}
	err := s.db.Update(func(btx *bolt.Tx) error {
		if err := s.checkLease(btx, l); err != nil {
			return err
		}
		t, err := newTx(btx, true)
		if err != nil {
			return err
		}
		defer t.finish()
		if err := fn(t); err != nil {
			return err
		}
		return t.failed
	})
	return mapErr(err)
}

// Backup writes a consistent copy of the whole store file to w while the
// store stays in use (a hot backup), and returns the bytes written. The
// copy is a valid store file: restore it by putting it in place of the
// store's file while snowsync is stopped. A long backup can delay an
// Update that needs to grow the file. Cancelling ctx stops the copy.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int64
	err := s.db.View(func(btx *bolt.Tx) error {
		var err error
		n, err = btx.WriteTo(ctxWriter{ctx: ctx, w: w})
		return err
	})
	if err != nil {
		return n, fmt.Errorf("boltstore: backup %s: %w", s.path, mapErr(err))
	}
	return n, nil
}

// ctxWriter stops a copy once its context ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// CompactTo writes a compacted copy of the store to a new file at dst
// (mode 0600; dst must not exist) while the store stays in use. bbolt never
// shrinks its file: after many deletes, stop snowsync, and put the
// compacted copy in place of the store's file to reclaim the space.
func (s *Store) CompactTo(ctx context.Context, dst string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dst == "" {
		return fmt.Errorf("%w: CompactTo: the destination path is empty", ErrInvalid)
	}
	f, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return fmt.Errorf("boltstore: compact to %s: %w", dst, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("boltstore: compact to %s: %w", dst, err)
	}
	out, err := bolt.Open(dst, fileMode, &bolt.Options{Timeout: DefaultOpenTimeout, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return errors.Join(fmt.Errorf("boltstore: compact to %s: %w", dst, err), os.Remove(dst))
	}
	if err := bolt.Compact(out, s.db, compactTxMaxSize); err != nil {
		return errors.Join(fmt.Errorf("boltstore: compact to %s: %w", dst, mapErr(err)), out.Close(), os.Remove(dst))
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("boltstore: compact to %s: %w", dst, err)
	}
	return nil
}
