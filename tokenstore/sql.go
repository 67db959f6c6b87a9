package tokenstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tiktokkit/tiktokkit/client"
)

// SQLConfig configures a SQL store.
type SQLConfig struct {
	// Dialect of the database: Postgres, SQLite or MySQL. Required.
	Dialect Dialect
	// Table is the table name, optionally schema-qualified. Default
	// DefaultTable ("tiktok_tokens").
	Table string
	// Keys encrypts tokens at rest (AES-256-GCM). Default nil: tokens are
	// stored as JSON in clear, and NewSQL logs a warning saying so. Always
	// set it in production.
	Keys *KeyRing
	// InsecureAcceptPlaintext lets a store with Keys read rows written in
	// clear (key_id ''), while moving an existing table to encryption; they
	// are encrypted when next written. Default false: such a row is an
	// ErrUnknownKey error, because whoever can write to the table could
	// otherwise plant a token for any user.
	InsecureAcceptPlaintext bool
	// Logger receives the warning about missing encryption. Default
	// slog.Default().
	Logger *slog.Logger
	// Clock times leases and updated_at. Default time.Now. Instances sharing
	// a table must agree on the time to well within the lease TTL (NTP).
	Clock func() time.Time
}

// SQL is a Store on a database/sql database: PostgreSQL, SQLite or MySQL.
// It is the store for apps with more than one instance: it implements
// Leaser with a conditional UPDATE that only one instance wins, so
// instances never refresh one user's token at once, Replacer (compare and
// swap), so that a refresh never undoes another instance's delete or
// login, and Lister.
// Bring your
// own driver; this package imports none.
//
// The statements are built once per store. With SQLite and MySQL they are
// prepared on first use and reused; Close releases them (the *sql.DB stays
// open: it is yours). PostgreSQL drivers such as pgx cache prepared
// statements per connection by themselves, faster than database/sql's
// *sql.Stmt, so there the query text is sent as it is.
type SQL struct {
	db      *sql.DB
	dialect Dialect
	table   string
	q       [numQueries]string
	codec   codec
	now     func() time.Time

	stmts [numQueries]atomic.Pointer[sql.Stmt]
}

var (
	_ Store    = (*SQL)(nil)
	_ Leaser   = (*SQL)(nil)
	_ Replacer = (*SQL)(nil)
	_ Lister   = (*SQL)(nil)

	_ LeaseTakeover = (*SQL)(nil)
	_ LeaseClearer  = (*SQL)(nil)
)

// NewSQL returns a SQL store on db. It does not touch the database; call
// Migrate to create the table, or create it yourself from Schema.
func NewSQL(db *sql.DB, cfg SQLConfig) (*SQL, error) {
	if db == nil {
		return nil, errors.New("tokenstore: NewSQL: nil *sql.DB")
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if _, err := Schema(cfg.Dialect, cfg.Table); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Keys == nil {
		logger := cfg.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.Warn("tokenstore: SQL store has no key ring; TikTok tokens are stored unencrypted",
			slog.String("table", cfg.Table), slog.String("dialect", cfg.Dialect.String()))
	}
	return &SQL{
		db:      db,
		dialect: cfg.Dialect,
		table:   cfg.Table,
		q:       buildQueries(cfg.Dialect, cfg.Table),
		codec:   codec{keys: cfg.Keys, acceptPlain: cfg.InsecureAcceptPlaintext},
		now:     cfg.Clock,
	}, nil
}

// Migrate creates the table if it does not exist. It never alters an
// existing table.
func (s *SQL) Migrate(ctx context.Context) error {
	ddl, _ := Schema(s.dialect, s.table)
	if _, err := s.db.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("tokenstore: migrate: %w", err)
	}
	return nil
}

// stmt returns the prepared statement in slot i, preparing it on first
// use; nil for PostgreSQL (see SQL). When preparing fails (the table does not exist yet, say) it returns
// nil and the caller runs the query unprepared; a later call tries again.
func (s *SQL) stmt(ctx context.Context, i int) *sql.Stmt {
	if s.dialect == Postgres {
		return nil
	}
	if st := s.stmts[i].Load(); st != nil {
		return st
	}
	st, err := s.db.PrepareContext(ctx, s.q[i])
	if err != nil {
		return nil
	}
	if !s.stmts[i].CompareAndSwap(nil, st) {
		st.Close()
		return s.stmts[i].Load()
	}
	return st
}

func (s *SQL) queryRow(ctx context.Context, i int, args ...any) *sql.Row {
	if st := s.stmt(ctx, i); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, s.q[i], args...)
}

func (s *SQL) exec(ctx context.Context, i int, args ...any) (sql.Result, error) {
	if st := s.stmt(ctx, i); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.db.ExecContext(ctx, s.q[i], args...)
}

// Close closes the prepared statements. The store still works afterwards
// (it prepares them again); the *sql.DB is not closed.
func (s *SQL) Close() error {
	var errs []error
	for i := range s.stmts {
		if st := s.stmts[i].Swap(nil); st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// Get returns the token under key. A row that cannot be decrypted or
// decoded is an error wrapping ErrCorrupt or ErrUnknownKey; the row is left
// as it is.
func (s *SQL) Get(ctx context.Context, key string) (*client.Token, error) {
	row, err := s.readRow(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("tokenstore: get %q: %w", key, err)
	}
	if row.leaseOnly {
		return nil, notFound(key)
	}
	return s.codec.decode(key, row.keyID, row.data)
}

// storedRow is a row as Get and Replace read it.
type storedRow struct {
	data      []byte
	keyID     string
	leaseOnly bool // no row, or a row that only holds a lease
}

// readRow reads key's row. A row whose token column is NULL is a lease-only
// row while a lease holder is named on it (TryLease inserted it, and
// ReleaseLease deletes it); without a holder, or with a key ID, the token
// is missing from a row that had one, and the row is damaged, not absent.
// A zero-length token (which some drivers read back as nil) is not NULL
// and goes to the decoder, which calls it corrupt.
func (s *SQL) readRow(ctx context.Context, key string) (storedRow, error) {
	var (
		r      storedRow
		isNull bool
		holder sql.NullString
	)
	err := s.queryRow(ctx, qGet, key).Scan(&r.data, &r.keyID, &isNull, &holder)
	if errors.Is(err, sql.ErrNoRows) {
		return storedRow{leaseOnly: true}, nil
	}
	if err != nil {
		return storedRow{}, err
	}
	if isNull {
		if holder.String != "" && r.keyID == "" {
			return storedRow{leaseOnly: true}, nil
		}
		return storedRow{}, fmt.Errorf("%w: the row of key %q has no token (NULL) although no lease holds it", ErrCorrupt, key)
	}
	if r.data == nil {
		r.data = []byte{}
	}
	return r, nil
}

// Put stores tok under key (an upsert), encrypted when the store has a key
// ring. It keeps the lease columns as they are.
func (s *SQL) Put(ctx context.Context, key string, tok *client.Token) error {
	keyID, data, err := s.codec.encode(key, tok)
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, qPut, key, data, keyID, s.now().UnixMilli()); err != nil {
		return fmt.Errorf("tokenstore: put %q: %w", key, err)
	}
	return nil
}

// PutClearLease implements LeaseClearer: Put that also frees the key's
// lease, in the same statement.
func (s *SQL) PutClearLease(ctx context.Context, key string, tok *client.Token) error {
	keyID, data, err := s.codec.encode(key, tok)
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, qPutClear, key, data, keyID, s.now().UnixMilli()); err != nil {
		return fmt.Errorf("tokenstore: put %q: %w", key, err)
	}
	return nil
}

// Replace implements Replacer. It reads the row, checks that it holds old,
// and overwrites it with tok (encrypted like Put) by an UPDATE conditioned
// on the ciphertext it read, so a write in between makes it read again
// rather than overwrite. It keeps the lease columns. A row that cannot be
// decrypted or decoded is an error, and is left as it is.
func (s *SQL) Replace(ctx context.Context, key string, old, tok *client.Token) (bool, error) {
	if old == nil {
		return false, errNilToken
	}
	keyID, data, err := s.codec.encode(key, tok)
	if err != nil {
		return false, err
	}
	for range 5 {
		row, err := s.readRow(ctx, key)
		if err != nil {
			return false, fmt.Errorf("tokenstore: replace %q: %w", key, err)
		}
		if row.leaseOnly {
			return false, nil
		}
		cur := row.data
		stored, err := s.codec.decode(key, row.keyID, cur)
		if err != nil {
			return false, err
		}
		if !sameToken(stored, old) {
			return false, nil
		}
		res, err := s.exec(ctx, qReplace, data, keyID, s.now().UnixMilli(), key, cur)
		if err != nil {
			return false, fmt.Errorf("tokenstore: replace %q: %w", key, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return false, fmt.Errorf("tokenstore: replace %q: %w", key, err)
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, fmt.Errorf("tokenstore: replace %q: the row kept changing", key)
}

// Delete removes the row under key, lease included.
func (s *SQL) Delete(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, qDelete, key); err != nil {
		return fmt.Errorf("tokenstore: delete %q: %w", key, err)
	}
	return nil
}

// Keys returns every key holding a token, in byte order.
func (s *SQL) Keys(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q[qKeys])
	if err != nil {
		return nil, fmt.Errorf("tokenstore: keys: %w", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("tokenstore: keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tokenstore: keys: %w", err)
	}
	if keys == nil {
		keys = []string{}
	}
	slices.Sort(keys) // byte order whatever the database's collation
	return keys, nil
}

// TryLease implements Leaser with a conditional UPDATE: the row's lease is
// taken only when it is free, expired, already holder's, or ends further
// ahead than a lease of ttl could (see Leaser), so exactly one of several
// instances racing for it wins. For a key without a row it
// inserts a row that holds only the lease (Get still reports ErrNotFound).
func (s *SQL) TryLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	won, _, err := s.TryLeaseTakeover(ctx, key, holder, ttl)
	return won, err
}

// TryLeaseTakeover implements LeaseTakeover. It first takes the lease only
// if it is free or holder's own; when that fails, a second conditional
// UPDATE takes a lapsed or bogus one, which is a takeover.
func (s *SQL) TryLeaseTakeover(ctx context.Context, key, holder string, ttl time.Duration) (won, tookOver bool, err error) {
	if holder == "" {
		return false, false, errEmptyHolder
	}
	now := s.now()
	until := now.Add(ttl).UnixMilli()
	if until <= now.UnixMilli() {
		until = now.UnixMilli() + 1
	}
	latest := now.Add(maxLeaseAhead(ttl)).UnixMilli()
	if won, err := s.affected(ctx, key, qLeaseTakeFree, holder, until, key, holder); err != nil || won {
		return won, false, err
	}
	if won, err := s.affected(ctx, key, qLeaseInsert, key, now.UnixMilli(), holder, until); err != nil || won {
		return won, false, err
	}
	// The row exists and someone else holds its lease: take it only if
	// it lapsed (or ends too far ahead).
	won, err = s.affected(ctx, key, qLeaseTake, holder, until, key, now.UnixMilli(), latest)
	return won, won, err
}

// affected runs statement i and reports whether it changed (or, for MySQL
// with clientFoundRows, matched) exactly one row.
func (s *SQL) affected(ctx context.Context, key string, i int, args ...any) (bool, error) {
	res, err := s.exec(ctx, i, args...)
	if err != nil {
		return false, fmt.Errorf("tokenstore: lease %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("tokenstore: lease %q: %w", key, err)
	}
	return n == 1, nil
}

// ReleaseLease implements Leaser: it frees the lease when holder holds it,
// and removes the row when it held nothing but the lease.
func (s *SQL) ReleaseLease(ctx context.Context, key, holder string) error {
	if _, err := s.exec(ctx, qLeaseCleanup, key, holder); err != nil {
		return fmt.Errorf("tokenstore: release lease %q: %w", key, err)
	}
	if _, err := s.exec(ctx, qLeaseRelease, key, holder); err != nil {
		return fmt.Errorf("tokenstore: release lease %q: %w", key, err)
	}
	return nil
}
