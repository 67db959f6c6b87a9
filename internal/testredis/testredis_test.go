package testredis_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tiktokkit/tiktokkit/internal/testredis"
)

func TestMain(m *testing.M) { testredis.Main(m) }

func TestClientAnswers(t *testing.T) {
	c := testredis.Client(t)
	ctx := t.Context()
	p := testredis.Prefix(t, c)
	if err := c.Set(ctx, p+"x", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, p+"x").Result(); err != nil || v != "1" {
		t.Fatalf("GET = %q, %v", v, err)
	}
}

func TestPrefixIsFreshAndCleanedUp(t *testing.T) {
	c := testredis.Client(t)
	ctx := t.Context()
	var p1 string
	t.Run("inner", func(t *testing.T) {
		p1 = testredis.Prefix(t, c)
		if p2 := testredis.Prefix(t, c); p1 == p2 {
			t.Fatalf("two prefixes are the same: %q", p1)
		}
		for i := range 20 {
			if err := c.Set(ctx, fmt.Sprintf("%sk%d", p1, i), "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	keys, err := c.Keys(ctx, p1+"*").Result()
	if err != nil || len(keys) != 0 {
		t.Fatalf("keys left under %q after the test: %v, %v", p1, keys, err)
	}
}

func TestClusterSpreadsSlots(t *testing.T) {
	c := testredis.ClusterClient(t)
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("ClusterClient returned a %T", c)
	}
	ctx := t.Context()
	p := testredis.Prefix(t, c)
	for i := range 50 {
		if err := c.Set(ctx, fmt.Sprintf("%s%d", p, i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var masters, holding atomic.Int32 // ForEachMaster runs fn on the masters at once
	err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		info, err := n.ClusterInfo(ctx).Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("%s: %s", n, info)
		}
		keys, err := n.Keys(ctx, p+"*").Result()
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			holding.Add(1)
		}
		masters.Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if masters.Load() < 2 || holding.Load() < 2 {
		t.Fatalf("%d masters, %d of them hold keys: want the keys spread over several", masters.Load(), holding.Load())
	}
}

func TestServerSurvivesStopAndStart(t *testing.T) {
	s := testredis.StartServer(t)
	c := s.Client(t)
	ctx := t.Context()
	if err := c.Set(ctx, "kept", "7", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if s.Up() {
		t.Fatal("Up after Stop")
	}
	if err := c.Get(ctx, "kept").Err(); err == nil {
		t.Fatal("a GET succeeded while the server was stopped")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		v   string
		err error
	)
	for range 3 { // the pool may still hold a connection broken by the stop
		if v, err = c.Get(ctx, "kept").Result(); err == nil {
			break
		}
	}
	if err != nil || v != "7" {
		t.Fatalf("after restart: %q, %v", v, err)
	}
}
