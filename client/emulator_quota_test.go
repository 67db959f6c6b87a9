package client_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

// TestEmulatorQuotasMatchClient: the emulator enforces the quotas the
// client keeps, under the same endpoint names. The emulator has its own
// Quota type (it depends on nothing in tiktokkit), so this is where the two
// are held together.
func TestEmulatorQuotasMatchClient(t *testing.T) {
	want := client.DefaultQuotas()
	got := tiktoktest.DefaultQuotas()
	require.Len(t, got, len(want))
	for name, q := range want {
		e := tiktoktest.Endpoint(name)
		assert.Contains(t, tiktoktest.QuotaEndpoints(), e, name)
		assert.Equal(t, tiktoktest.Quota{Limit: q.Limit, Window: q.Window, PerToken: q.PerToken}, got[e], name)
	}
}
