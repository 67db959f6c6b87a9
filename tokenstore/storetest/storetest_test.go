package storetest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/tokenstore"
	"github.com/tiktokkit/tiktokkit/tokenstore/storetest"
)

func TestMemoryPasses(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tokenstore.Store { return tokenstore.NewMemory() })
}

// broken stores, each with one flaw the suite must catch.
var broken = map[string]struct {
	store    func() tokenstore.Store
	wantFail string
}{
	"case-folding keys": {func() tokenstore.Store { return foldingStore{tokenstore.NewMemory()} }, "DistinctKeys"},
	"no copy on put":    {func() tokenstore.Store { return &aliasStore{m: map[string]*client.Token{}} }, "PutStoresACopy"},
	"lease for anyone":  {func() tokenstore.Store { return greedyLeaser{tokenstore.NewMemory()} }, "Lease/Exclusive"},
	"replace upserts":   {func() tokenstore.Store { return upsertingReplacer{tokenstore.NewMemory()} }, "Replace"},
	"replace races":     {func() tokenstore.Store { return checkThenWriteReplacer{tokenstore.NewMemory()} }, "Replace"},
}

// TestSuiteCatchesBrokenStores runs the suite in a child process against
// each broken store and expects it to fail in the right place.
func TestSuiteCatchesBrokenStores(t *testing.T) {
	if name := os.Getenv("STORETEST_BROKEN"); name != "" {
		storetest.Run(t, func(*testing.T) tokenstore.Store { return broken[name].store() },
			storetest.WithLeaseTTL(50*time.Millisecond))
		return
	}
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for name, b := range broken {
		t.Run(name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSuiteCatchesBrokenStores$", "-test.v")
			cmd.Env = append(os.Environ(), "STORETEST_BROKEN="+name)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the suite passed a broken store:\n%s", out)
			require.Contains(t, string(out), "--- FAIL: TestSuiteCatchesBrokenStores/"+b.wantFail, "%s", out)
		})
	}
}

type foldingStore struct{ m *tokenstore.Memory }

func (s foldingStore) Get(ctx context.Context, k string) (*client.Token, error) {
	return s.m.Get(ctx, strings.ToLower(k))
}
func (s foldingStore) Put(ctx context.Context, k string, t *client.Token) error {
	return s.m.Put(ctx, strings.ToLower(k), t)
}
func (s foldingStore) Delete(ctx context.Context, k string) error {
	return s.m.Delete(ctx, strings.ToLower(k))
}

type aliasStore struct {
	mu sync.Mutex
	m  map[string]*client.Token
}

func (s *aliasStore) Get(_ context.Context, k string) (*client.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.m[k]; t != nil {
		return t, nil
	}
	return nil, tokenstore.ErrNotFound
}

func (s *aliasStore) Put(_ context.Context, k string, t *client.Token) error {
	if t == nil {
		return os.ErrInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = t
	return nil
}

func (s *aliasStore) Delete(_ context.Context, k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
	return nil
}

type greedyLeaser struct{ *tokenstore.Memory }

func (greedyLeaser) TryLease(context.Context, string, string, time.Duration) (bool, error) {
	return true, nil
}

// upsertingReplacer's Replace writes whatever the key holds, which would
// bring back a token deleted during a refresh.
type upsertingReplacer struct{ *tokenstore.Memory }

func (u upsertingReplacer) Replace(ctx context.Context, k string, _, t *client.Token) (bool, error) {
	return true, u.Put(ctx, k, t)
}

// checkThenWriteReplacer compares and then writes in two steps, so racing
// Replaces can all win.
type checkThenWriteReplacer struct{ *tokenstore.Memory }

func (c checkThenWriteReplacer) Replace(ctx context.Context, k string, old, t *client.Token) (bool, error) {
	cur, err := c.Get(ctx, k)
	if err != nil || cur.AccessToken != old.AccessToken || cur.RefreshToken != old.RefreshToken {
		return false, nil
	}
	time.Sleep(time.Millisecond)
	return true, c.Put(ctx, k, t)
}
