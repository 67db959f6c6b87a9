package webhooktest_test

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/handlers/webhook"
	"github.com/tiktokkit/tiktokkit/handlers/webhook/webhooktest"
	"github.com/tiktokkit/tiktokkit/internal/testutil"
)

func TestMemoryPasses(t *testing.T) {
	t.Run("fake clock", func(t *testing.T) {
		clock := testutil.NewClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
		webhooktest.RunReplayStore(t, func(*testing.T) webhook.ReplayStore {
			return webhook.NewMemoryReplayStore(0, clock.Now, nil)
		}, webhooktest.WithClock(clock.Now, clock.Advance), webhooktest.WithTTL(time.Minute))
	})
	t.Run("real clock", func(t *testing.T) {
		webhooktest.RunReplayStore(t, func(*testing.T) webhook.ReplayStore {
			return webhook.NewMemoryReplayStore(0, nil, nil)
		}, webhooktest.WithTTL(50*time.Millisecond))
	})
}

// broken stores, each with one flaw the suite must catch.
var broken = map[string]struct {
	store    func() webhook.ReplayStore
	wantFail string
}{
	"check then write":   {func() webhook.ReplayStore { return &racyStore{m: map[string]time.Time{}} }, "ConcurrentClaims"},
	"never expires":      {func() webhook.ReplayStore { return &foreverStore{m: map[string]bool{}} }, "Expires"},
	"repeat extends":     {func() webhook.ReplayStore { return &extendingStore{m: map[string]time.Time{}} }, "Expires"},
	"case-folding ids":   {func() webhook.ReplayStore { return foldingStore{webhook.NewMemoryReplayStore(0, nil, nil)} }, "DistinctIDs"},
	"release is a no-op": {func() webhook.ReplayStore { return noRelease{webhook.NewMemoryReplayStore(0, nil, nil)} }, "Release"},
}

// TestSuiteCatchesBrokenStores runs the suite in a child process against
// each broken store and expects it to fail in the right place.
func TestSuiteCatchesBrokenStores(t *testing.T) {
	if name := os.Getenv("WEBHOOKTEST_BROKEN"); name != "" {
		webhooktest.RunReplayStore(t, func(*testing.T) webhook.ReplayStore { return broken[name].store() },
			webhooktest.WithTTL(50*time.Millisecond))
		return
	}
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for name, b := range broken {
		t.Run(name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSuiteCatchesBrokenStores$", "-test.v")
			cmd.Env = append(os.Environ(), "WEBHOOKTEST_BROKEN="+name)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the suite passed a broken store:\n%s", out)
			require.Contains(t, string(out), "--- FAIL: TestSuiteCatchesBrokenStores/"+b.wantFail, "%s", out)
		})
	}
}

// racyStore checks, then writes: concurrent Claims can all win.
type racyStore struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (s *racyStore) Claim(_ context.Context, id string, until time.Time) (bool, error) {
	s.mu.Lock()
	exp, ok := s.m[id]
	s.mu.Unlock()
	if ok && time.Now().Before(exp) {
		return false, nil
	}
	runtime.Gosched()
	time.Sleep(time.Millisecond)
	s.mu.Lock()
	s.m[id] = until
	s.mu.Unlock()
	return true, nil
}

func (s *racyStore) Release(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

// foreverStore ignores the expiry.
type foreverStore struct {
	mu sync.Mutex
	m  map[string]bool
}

func (s *foreverStore) Claim(_ context.Context, id string, _ time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[id] {
		return false, nil
	}
	s.m[id] = true
	return true, nil
}

func (s *foreverStore) Release(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

// extendingStore lets a refused Claim move the expiry.
type extendingStore struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (s *extendingStore) Claim(_ context.Context, id string, until time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.m[id]
	if until.After(exp) {
		s.m[id] = until
	}
	return !ok || !time.Now().Before(exp), nil
}

func (s *extendingStore) Release(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

type foldingStore struct{ webhook.ReplayStore }

func (s foldingStore) Claim(ctx context.Context, id string, until time.Time) (bool, error) {
	return s.ReplayStore.Claim(ctx, strings.ToLower(id), until)
}

func (s foldingStore) Release(ctx context.Context, id string) error {
	return s.ReplayStore.Release(ctx, strings.ToLower(id))
}

type noRelease struct{ webhook.ReplayStore }

func (noRelease) Release(context.Context, string) error { return nil }
