package tiktoktest

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestQuotaSweepsIdleTokens: the windows of tokens that stopped calling are
// dropped, so a long run with many tokens keeps a bounded state.
func TestQuotaSweepsIdleTokens(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewHandler(Config{Clock: func() time.Time { return now }})
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range 3 * minSweep {
		_, ok := s.takeQuotaLocked(EndpointCreatorInfo, "act."+strconv.Itoa(i), s.nowLocked())
		assert.True(t, ok)
	}
	st := s.quotas[EndpointCreatorInfo]
	assert.Len(t, st.logs, 3*minSweep, "all in the window: none swept")
	assert.Equal(t, 4*minSweep, st.sweepAt, "the sweep waits for twice the live tokens")
	s.offset = time.Minute // every window has passed
	// The next sweep comes once the tokens reach sweepAt: 64 new ones, and
	// the 65th finds only those 64 alive.
	for i := range minSweep + 1 {
		_, ok := s.takeQuotaLocked(EndpointCreatorInfo, "act.new"+strconv.Itoa(i), s.nowLocked())
		assert.True(t, ok)
	}
	assert.Len(t, st.logs, minSweep+1, "the idle tokens are gone")
	assert.Equal(t, 2*minSweep, st.sweepAt)
	assert.Equal(t, 1, st.peak, "one request per token")

	// A per-app quota keeps one window however many tokens call.
	for i := range 10 {
		s.takeQuotaLocked(EndpointUserInfo, "act."+strconv.Itoa(i), s.nowLocked())
	}
	assert.Len(t, s.quotas[EndpointUserInfo].logs, 1)
}
