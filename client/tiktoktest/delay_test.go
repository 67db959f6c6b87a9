package tiktoktest_test

import (
	"context"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

// A long injected delay must end when the client gives up, even on a POST
// with a body, and Close must not wait it out.
func TestDelayEndsWhenClientGivesUpOrServerCloses(t *testing.T) {
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	emu.InjectFault(tiktoktest.EndpointToken, tiktoktest.Fault{Delay: time.Hour})

	form := url.Values{"client_key": {emu.ClientKey()}, "client_secret": {emu.ClientSecret()}, "grant_type": {"client_credentials"}}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, emu.URL+"/v2/oauth/token/", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err = http.DefaultClient.Do(req)
	require.Error(t, err)

	// A second request is still waiting when the server closes.
	started := make(chan struct{})
	go func() {
		close(started)
		req, _ := http.NewRequest(http.MethodPost, emu.URL+"/v2/oauth/token/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	deadline := time.Now().Add(20 * time.Second)
	for emu.Calls(tiktoktest.EndpointToken) < 2 && time.Now().Before(deadline) {
		runtime.Gosched() // the request is counted before its delay starts
	}
	closed := make(chan struct{})
	go func() { emu.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close waited for the injected delay")
	}
}
