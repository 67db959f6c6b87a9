package testharness

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client"
	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
	"github.com/tiktokkit/tiktokkit/internal/testtoken"
	"github.com/tiktokkit/tiktokkit/tokenstore"
)

func TestStack(t *testing.T) {
	st := New(t, Config{
		Emulator: tiktoktest.Config{Users: Users(tiktoktest.User{OpenID: "open-1", DisplayName: "One"})},
		Client:   func(c *client.Config) { c.RedirectURL = "http://app.test/cb" },
	})
	assert.Equal(t, Epoch, st.Clock.Now())
	assert.Equal(t, Epoch, st.Emulator.Now(), "the emulator reads the stack's clock")
	require.IsType(t, &tokenstore.Memory{}, st.Store)
	assert.Equal(t, "open-1", st.Emulator.Users()[0].OpenID)
	assert.Greater(t, len(st.Emulator.Users()), 1, "the default users follow")

	// A token the emulator issued works through the source and the client.
	tr, err := st.Emulator.IssueToken("open-1", client.ScopeUserInfoBasic)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, st.Source.Save(ctx, "open-1", testtoken.FromEmulator(tr, st.Clock.Now())))
	tok, err := st.Source.Token(ctx, "open-1")
	require.NoError(t, err)
	u := st.Client.WithToken(tok)
	rec := httptest.NewRecorder()
	require.NoError(t, UserInfoJSON(rec, httptest.NewRequest(http.MethodGet, "/", nil), u))
	assert.JSONEq(t, `{"open_id":"open-1","display_name":"One"}`, rec.Body.String())
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))

	st.Logger.Debug("debug lines are kept")
	assert.Contains(t, st.Logs.String(), "debug lines are kept")
}

func TestStackStore(t *testing.T) {
	mem := tokenstore.NewMemory()
	st := New(t, Config{Store: mem})
	assert.Same(t, mem, st.Store)
	require.NoError(t, st.Source.Save(context.Background(), "k", &client.Token{AccessToken: "a",
		Expiry: st.Clock.Now().Add(time.Hour)}))
	_, err := mem.Get(context.Background(), "k")
	assert.NoError(t, err, "the source writes to the given store")
}

// twoHosts is an app that redirects to an "identity provider" on another
// server and back, setting a cookie on the way.
func twoHosts(t *testing.T) (app, idp *httptest.Server) {
	idp = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("back")+"/done", http.StatusFound)
	}))
	t.Cleanup(idp.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s1", Path: "/"})
		w.Header().Set("Location", "next") // relative to /start
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("GET /next", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, idp.URL+"/?back="+url.QueryEscape("http://"+r.Host), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("sid")
		if err != nil {
			http.Error(w, "no cookie", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "done "+c.Value+" "+r.Header.Get("Accept"))
	})
	mux.HandleFunc("GET /loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Header.Get("Origin")+" "+r.PostFormValue("x"))
	})
	app = httptest.NewServer(mux)
	t.Cleanup(app.Close)
	return app, idp
}

func TestBrowserFollow(t *testing.T) {
	app, idp := twoHosts(t)
	b := NewBrowser(t, app)
	var mu sync.Mutex
	var seen []string
	b.OnResponse = func(r *Response) {
		mu.Lock()
		seen = append(seen, r.URL)
		mu.Unlock()
	}

	first := b.Get("/start")
	assert.Equal(t, http.StatusFound, first.Status, "redirects are not followed by themselves")
	assert.Equal(t, "next", first.Location())
	assert.Equal(t, app.URL+"/start", first.URL)
	require.NotNil(t, b.Cookie("sid"))
	assert.Equal(t, "s1", b.Cookie("sid").Value)
	assert.Nil(t, b.Cookie("other"))

	hops := b.Follow("/start")
	require.Len(t, hops, 4, "start, next, the other host, done")
	assert.Equal(t, app.URL+"/next", hops[1].URL, "a relative Location resolves against the hop's URL")
	assert.True(t, strings.HasPrefix(hops[2].URL, idp.URL), hops[2].URL)
	assert.Equal(t, http.StatusOK, hops[3].Status)
	assert.Equal(t, "done s1 "+AcceptHTML, hops[3].Body)
	assert.Len(t, seen, 5, "OnResponse saw every response")
}

func TestBrowserRequests(t *testing.T) {
	app, _ := twoHosts(t)
	b := NewBrowser(t, app)
	assert.Equal(t, "http://elsewhere.example/x", b.Abs("http://elsewhere.example/x"))
	assert.Equal(t, app.URL+"/x", b.Abs("/x"))

	r := b.PostForm("/form", url.Values{"x": {"1"}})
	assert.Equal(t, app.URL+" 1", r.Body, "a same-origin form")

	b.Get("/start") // sets the cookie
	r = b.GetJSON("/done")
	assert.Equal(t, "done s1 "+AcceptJSON, r.Body)
	r = b.Do(http.MethodGet, "/done", "")
	assert.Equal(t, "done s1 ", r.Body, "no Accept when none is given")

	// At shares the cookies with another base on the same host.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Cookie("sid")
		if c != nil {
			_, _ = io.WriteString(w, c.Value)
		}
	}))
	t.Cleanup(other.Close)
	at := b.At(other.URL)
	assert.Equal(t, other.URL, at.Base)
	assert.Equal(t, app.URL, b.Base, "b is unchanged")
	assert.Equal(t, "s1", at.Get("/").Body, "the cookie for 127.0.0.1 reaches the other port")

	_, err := b.Try(http.MethodGet, "http://127.0.0.1:0/", "")
	assert.Error(t, err, "Try returns transport errors")
}

func TestBrowserFollowLoop(t *testing.T) {
	app, _ := twoHosts(t)
	ft := &fatalT{TB: t}
	b := NewBrowser(t, app)
	b.T = ft
	done := make(chan struct{})
	go func() { // Fatalf ends the goroutine it runs in
		defer close(done)
		b.Follow("/loop")
	}()
	<-done
	assert.Contains(t, ft.msg, "too many redirects")
}

// fatalT records Fatalf instead of failing the test.
type fatalT struct {
	testing.TB
	msg string
}

func (f *fatalT) Helper() {}

func (f *fatalT) Fatalf(format string, args ...any) {
	f.msg = format
	runtime.Goexit()
}
