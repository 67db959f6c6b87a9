package main

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/handlers/webhook"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

// TestWebhookOnSQL: with the SQL database, a signed authorization.removed
// logs the user out, and its replay, kept in the database's replay table,
// is acknowledged without logging out the user's next login.
func TestWebhookOnSQL(t *testing.T) {
	ta := newTestApp(t)
	require.IsType(t, &webhook.SQLReplayStore{}, ta.replays)
	ta.login(t)
	user := ta.emu.Users()[0]
	now := ta.emu.Now()
	body := `{"client_key":"` + ta.emu.ClientKey() + `","event":"authorization.removed","create_time":` +
		strconv.FormatInt(now.Unix(), 10) + `,"user_openid":"` + user.OpenID + `","content":"{\"reason\":1}"}`
	sig := webhook.Sign(ta.webhookSecret, now, []byte(body))

	assert.Equal(t, http.StatusBadRequest, postWebhook(t, ta, body, "t=1,s=00"), "a signature from 1970 is stale")
	assert.Equal(t, http.StatusUnauthorized, postWebhook(t, ta, body, webhook.Sign("not-the-secret", now, []byte(body))))
	status, _ := ta.apiMe(t)
	require.Equal(t, http.StatusOK, status, "refused deliveries change nothing")

	assert.Equal(t, http.StatusOK, postWebhook(t, ta, body, sig))
	_, err := ta.store.Get(t.Context(), user.OpenID)
	require.ErrorIs(t, err, tokenstore.ErrNotFound)
	status, _ = ta.apiMe(t)
	assert.Equal(t, http.StatusUnauthorized, status)

	ta.login(t)
	assert.Equal(t, http.StatusOK, postWebhook(t, ta, body, sig))
	var n int
	require.NoError(t, ta.db.db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+webhook.DefaultReplayTable).Scan(&n))
	assert.Equal(t, 1, n, "the claim is in the database")
	status, _ = ta.apiMe(t)
	assert.Equal(t, http.StatusOK, status, "the replay logged nobody out")
}
