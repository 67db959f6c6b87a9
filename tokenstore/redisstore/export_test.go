package redisstore

import (
	"context"
	"time"

	"github.com/tiktokkit/tiktokkit/client"
)

// ReserveSlot is Reserve for the tests: it also returns the moment booked
// (or refused) and the server's now, exactly as the script computed them,
// so that a test can check the send times several limiters granted
// without the noise of the round trip.
func (l *Limiter) ReserveSlot(ctx context.Context, key string, q client.Quota, maxWait time.Duration) (slot, now time.Time, ok bool, err error) {
	s, n, ok, err := l.reserve(ctx, key, q, maxWait)
	return time.UnixMilli(s), time.UnixMilli(n), ok, err
}
