package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

func (s suite) concurrentOneKey(t *testing.T, st tokenstore.Store, ctx context.Context) {
	const key, rounds = "contended", 10
	require.NoError(t, st.Put(ctx, key, FullToken(0)))
	written := map[string]*client.Token{FullToken(0).AccessToken: FullToken(0)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, s.cfg.workers*rounds*2)
	for w := range s.cfg.workers {
		wg.Go(func() {
			for r := range rounds {
				n := 1 + w*rounds + r
				tok := FullToken(n)
				mu.Lock()
				written[tok.AccessToken] = tok
				mu.Unlock()
				if err := st.Put(ctx, key, tok); err != nil {
					errs <- fmt.Errorf("put: %w", err)
					return
				}
				got, err := st.Get(ctx, key)
				if err != nil {
					errs <- fmt.Errorf("get: %w", err)
					return
				}
				mu.Lock()
				want := written[got.AccessToken]
				mu.Unlock()
				if want == nil {
					errs <- fmt.Errorf("get returned a token nobody wrote")
				} else if d := Equal(want, got); d != "" {
					errs <- fmt.Errorf("get returned a mix of two tokens (-written +got):\n%s", d)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := st.Get(ctx, key)
	require.NoError(t, err)
	require.Contains(t, written, got.AccessToken)
	assert.Empty(t, Equal(written[got.AccessToken], got))
}

func (s suite) concurrentManyKeys(t *testing.T, st tokenstore.Store, ctx context.Context) {
	var wg sync.WaitGroup
	errs := make(chan error, s.cfg.workers)
	for w := range s.cfg.workers {
		wg.Go(func() {
			key := fmt.Sprintf("user-%d", w)
			check := func(want *client.Token) error {
				got, err := st.Get(ctx, key)
				if want == nil {
					if !errors.Is(err, tokenstore.ErrNotFound) {
						return fmt.Errorf("%s: Get after Delete: %v, want ErrNotFound", key, err)
					}
					return nil
				}
				if err != nil {
					return fmt.Errorf("%s: Get: %w", key, err)
				}
				if d := Equal(want, got); d != "" {
					return fmt.Errorf("%s: (-want +got):\n%s", key, d)
				}
				return nil
			}
			for _, step := range []func() error{
				func() error { return st.Put(ctx, key, FullToken(w)) },
				func() error { return check(FullToken(w)) },
				func() error { return st.Put(ctx, key, FullToken(w+1000)) },
				func() error { return check(FullToken(w + 1000)) },
				func() error { return st.Delete(ctx, key) },
				func() error { return check(nil) },
				func() error { return st.Put(ctx, key, FullToken(w+2000)) },
			} {
				if err := step(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := range s.cfg.workers {
		got, err := st.Get(ctx, fmt.Sprintf("user-%d", w))
		require.NoError(t, err)
		assert.Empty(t, Equal(FullToken(w+2000), got))
	}
}
