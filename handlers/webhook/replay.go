package webhook

import (
	"container/heap"
	"context"
	"log/slog"
	"sync"
	"time"
)

// ReplayStore records the deliveries a Handler accepted, by signature, so
// that a replay of one is refused. The default is a MemoryReplayStore; a
// store that several instances of an app share (a SQL table, Redis)
// refuses a replay whichever instance it reaches. Implementations must be
// safe for concurrent use.
type ReplayStore interface {
	// Claim records id until the time until and reports true, unless id is
	// already recorded with an expiry still ahead: then it reports false
	// and changes nothing. Of concurrent Claims of one id, at most one
	// reports true. The handler answers an error with 500, so TikTok
	// delivers the event again. An id is at most 64 characters.
	Claim(ctx context.Context, id string, until time.Time) (bool, error)
	// Release forgets id, so that its next Claim reports true; the handler
	// calls it when handling a claimed event failed, to let TikTok's retry
	// through. Releasing an id that is not recorded is not an error.
	Release(ctx context.Context, id string) error
}

// MemoryReplayStore is a ReplayStore in memory, the default of Config. It
// remembers at most its size of ids, each until its expiry; when full, it
// forgets the id closest to expiry first and logs a warning. It is safe for
// concurrent use.
type MemoryReplayStore struct {
	size   int
	now    func() time.Time
	logger *slog.Logger

	mu   sync.Mutex
	byID map[string]*replayEntry
	heap replayHeap
}

var _ ReplayStore = (*MemoryReplayStore)(nil)

type replayEntry struct {
	id      string
	expires time.Time
	index   int
}

// NewMemoryReplayStore returns a MemoryReplayStore of size ids (size 0 or
// less: DefaultReplayCacheSize) that reads the time from clock (nil:
// time.Now) and warns on logger (nil: slog.Default()) when it is full.
func NewMemoryReplayStore(size int, clock func() time.Time, logger *slog.Logger) *MemoryReplayStore {
	if size <= 0 {
		size = DefaultReplayCacheSize
	}
	if clock == nil {
		clock = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &MemoryReplayStore{size: size, now: clock, logger: logger, byID: make(map[string]*replayEntry)}
}

// Claim records id until the time until unless it is already there (a
// replay). Expired ids are dropped first; when the store is still full, the
// id closest to expiry is dropped and a warning logged. It never fails.
func (s *MemoryReplayStore) Claim(ctx context.Context, id string, until time.Time) (bool, error) {
	added, evicted := s.claim(id, until)
	if evicted {
		s.logger.WarnContext(ctx, "webhook: replay cache full, forgetting the oldest signature",
			slog.Int("size", s.size))
	}
	return added, nil
}

func (s *MemoryReplayStore) claim(id string, until time.Time) (added, evicted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for len(s.heap) > 0 && !now.Before(s.heap[0].expires) {
		e := heap.Pop(&s.heap).(*replayEntry)
		delete(s.byID, e.id)
	}
	if _, ok := s.byID[id]; ok {
		return false, false
	}
	if len(s.heap) >= s.size {
		e := heap.Pop(&s.heap).(*replayEntry)
		delete(s.byID, e.id)
		evicted = true
	}
	e := &replayEntry{id: id, expires: until}
	heap.Push(&s.heap, e)
	s.byID[id] = e
	return true, evicted
}

// Release forgets id. It never fails.
func (s *MemoryReplayStore) Release(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byID[id]; ok {
		heap.Remove(&s.heap, e.index)
		delete(s.byID, id)
	}
	return nil
}

// len is how many ids are recorded, expired ones included until the next
// Claim drops them.
func (s *MemoryReplayStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// replayHeap orders entries by expiry (container/heap).
type replayHeap []*replayEntry

func (h replayHeap) Len() int           { return len(h) }
func (h replayHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h replayHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *replayHeap) Push(x any) {
	e := x.(*replayEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *replayHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
