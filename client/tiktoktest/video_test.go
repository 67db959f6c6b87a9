package tiktoktest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiktokkit/tiktokkit/client/tiktoktest"
)

// The media tests speak raw HTTP too.

var (
	mAlice = tiktoktest.DefaultUsers()[0].OpenID // public account, 37 videos
	mBob   = tiktoktest.DefaultUsers()[1].OpenID // private account, 4 videos
	mCarol = tiktoktest.DefaultUsers()[2].OpenID // SELF_ONLY only, no video
)

// mAnswer is an API answer: status, headers and the decoded envelope.
type mAnswer struct {
	status int
	header http.Header
	raw    []byte
	data   json.RawMessage
	code   string
	msg    string
	logID  string
}

func mEmu(t testing.TB) *tiktoktest.Server {
	t.Helper()
	emu := tiktoktest.NewServer(tiktoktest.Config{})
	t.Cleanup(emu.Close)
	return emu
}

func mToken(t testing.TB, emu *tiktoktest.Server, openID string, scopes ...string) string {
	t.Helper()
	tr, err := emu.IssueToken(openID, scopes...)
	require.NoError(t, err)
	return tr.AccessToken
}

// mCall sends a request with a bearer token (none when empty) and a JSON
// body (none when empty), and decodes TikTok's envelope.
func mCall(t testing.TB, emu *tiktoktest.Server, method, pathAndQuery, token, body string, header ...string) mAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, emu.URL+pathAndQuery, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := mAnswer{status: resp.StatusCode, header: resp.Header, raw: raw}
	var env struct {
		Data  json.RawMessage `json:"data"`
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			LogID   string `json:"log_id"`
		} `json:"error"`
	}
	if bytes.HasPrefix(raw, []byte("{")) {
		require.NoError(t, json.Unmarshal(raw, &env), "%s", raw)
		a.data, a.code, a.msg, a.logID = env.Data, env.Error.Code, env.Error.Message, env.Error.LogID
	}
	return a
}

// mWantErr checks an error answer in TikTok's envelope.
func mWantErr(t testing.TB, a mAnswer, status int, code string) {
	t.Helper()
	assert.Equal(t, status, a.status, "%s", a.raw)
	assert.Equal(t, code, a.code, "%s", a.raw)
	assert.Len(t, a.logID, 34, "log_id shaped like TikTok's")
}

type mVideoPage struct {
	Videos  []map[string]any `json:"videos"`
	Cursor  int64            `json:"cursor"`
	HasMore bool             `json:"has_more"`
}

func mPage(t testing.TB, a mAnswer) mVideoPage {
	t.Helper()
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, "ok", a.code)
	var p mVideoPage
	require.NoError(t, json.Unmarshal(a.data, &p))
	return p
}

func TestVideoListPaging(t *testing.T) {
	emu := mEmu(t)
	tok := mToken(t, emu, mAlice, "video.list")
	want := emu.Videos(mAlice)
	require.Len(t, want, 37)

	// No body: TikTok's default page of 10.
	p := mPage(t, mCall(t, emu, "POST", "/v2/video/list/?fields=id,title", tok, ""))
	assert.Len(t, p.Videos, 10)
	assert.True(t, p.HasMore)
	assert.Equal(t, map[string]any{"id": want[0].ID, "title": want[0].Title}, p.Videos[0], "exactly the fields asked for")

	var ids []string
	cursor := int64(0)
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		body := `{"max_count":20}`
		if cursor != 0 {
			body = `{"max_count":20,"cursor":` + jsonNum(cursor) + `}`
		}
		p := mPage(t, mCall(t, emu, "POST", "/v2/video/list/?fields=id,create_time", tok, body))
		for _, v := range p.Videos {
			ids = append(ids, v["id"].(string))
			assert.Less(t, int64(v["create_time"].(float64))*1000, cursorOrMax(cursor), "older than the cursor")
		}
		if !p.HasMore {
			break
		}
		cursor = p.Cursor
	}
	require.Len(t, ids, 37)
	for i, v := range want {
		assert.Equal(t, v.ID, ids[i], "newest first, each once")
	}

	// A cursor of your own: videos posted before it.
	p = mPage(t, mCall(t, emu, "POST", "/v2/video/list/?fields=id", tok, `{"cursor":`+jsonNum(want[5].CreateTime*1000)+`,"max_count":2}`))
	assert.Equal(t, want[6].ID, p.Videos[0]["id"])
	assert.Equal(t, want[7].CreateTime*1000, p.Cursor)

	// Carol has none.
	p = mPage(t, mCall(t, emu, "POST", "/v2/video/list/?fields=id", mToken(t, emu, mCarol, "video.list"), `{}`))
	assert.Empty(t, p.Videos)
	assert.False(t, p.HasMore)
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

// cursorOrMax returns the cursor, or the largest int64 for "no cursor".
func cursorOrMax(c int64) int64 {
	if c == 0 {
		return 1<<63 - 1
	}
	return c
}

func TestVideoListStrict(t *testing.T) {
	emu := mEmu(t)
	tok := mToken(t, emu, mAlice, "video.list")
	tests := []struct {
		name, path, token, body string
		header                  []string
		status                  int
		code                    string
	}{
		{"no token", "/v2/video/list/?fields=id", "", `{}`, nil, 401, "access_token_invalid"},
		{"no video.list", "/v2/video/list/?fields=id", mToken(t, emu, mAlice, "user.info.basic"), `{}`, nil, 401, "scope_not_authorized"},
		{"no fields", "/v2/video/list/", tok, `{}`, nil, 400, "invalid_params"},
		{"unknown field", "/v2/video/list/?fields=id,email", tok, `{}`, nil, 400, "invalid_params"},
		{"max_count 21", "/v2/video/list/?fields=id", tok, `{"max_count":21}`, nil, 400, "invalid_params"},
		{"max_count 0", "/v2/video/list/?fields=id", tok, `{"max_count":0}`, nil, 400, "invalid_params"},
		{"negative cursor", "/v2/video/list/?fields=id", tok, `{"cursor":-1}`, nil, 400, "invalid_params"},
		{"string cursor", "/v2/video/list/?fields=id", tok, `{"cursor":"1"}`, nil, 400, "invalid_params"},
		{"not JSON", "/v2/video/list/?fields=id", tok, `max_count=5`, nil, 400, "invalid_params"},
		{"form content type", "/v2/video/list/?fields=id", tok, `{}`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 400, "invalid_params"},
		{"query: no ids", "/v2/video/query/?fields=id", tok, `{"filters":{"video_ids":[]}}`, nil, 400, "invalid_params"},
		{"query: no filters", "/v2/video/query/?fields=id", tok, `{}`, nil, 400, "invalid_params"},
		{"query: no body", "/v2/video/query/?fields=id", tok, ``, nil, 400, "invalid_params"},
		{"query: 21 ids", "/v2/video/query/?fields=id", tok, `{"filters":{"video_ids":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17","18","19","20","21"]}}`, nil, 400, "invalid_params"},
		{"query: no fields", "/v2/video/query/", tok, `{"filters":{"video_ids":["1"]}}`, nil, 400, "invalid_params"},
		{"query: no video.list", "/v2/video/query/?fields=id", mToken(t, emu, mAlice, "video.publish"), `{"filters":{"video_ids":["1"]}}`, nil, 401, "scope_not_authorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mWantErr(t, mCall(t, emu, "POST", tt.path, tt.token, tt.body, tt.header...), tt.status, tt.code)
		})
	}
	assert.Equal(t, http.StatusMethodNotAllowed, mCall(t, emu, "GET", "/v2/video/list/?fields=id", tok, "").status)
	assert.Equal(t, http.StatusNotFound, mCall(t, emu, "POST", "/v2/video/list?fields=id", tok, "{}").status, "trailing slash required")
}

func TestVideoQueryOnlyOwnVideos(t *testing.T) {
	emu := mEmu(t)
	alice, bob := emu.Videos(mAlice), emu.Videos(mBob)
	body := `{"filters":{"video_ids":["` + alice[9].ID + `","` + bob[0].ID + `","` + alice[2].ID + `","nope"]}}`
	a := mCall(t, emu, "POST", "/v2/video/query/?fields=id,cover_image_url,view_count", mToken(t, emu, mAlice, "video.list"), body)
	p := mPage(t, a)
	require.Len(t, p.Videos, 2, "Bob's video and the unknown ID are left out")
	assert.Equal(t, alice[2].ID, p.Videos[0]["id"], "newest first, not in the order asked")
	assert.Equal(t, alice[9].ID, p.Videos[1]["id"])
	assert.Equal(t, float64(alice[2].ViewCount), p.Videos[0]["view_count"])
	assert.False(t, p.HasMore)

	cover := p.Videos[0]["cover_image_url"].(string)
	require.True(t, strings.HasPrefix(cover, emu.URL+"/_emulator/cover?video_id="), cover)
	resp, err := http.Get(cover)
	require.NoError(t, err)
	svg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "image/svg+xml", resp.Header.Get("Content-Type"))
	assert.Contains(t, string(svg), "<svg")
}

func TestSetVideos(t *testing.T) {
	emu := mEmu(t)
	emu.SetVideos(mCarol, []tiktoktest.Video{
		{ID: "1", CreateTime: 100, Title: "old"},
		{ID: "2", CreateTime: 200, Title: "new <b>"},
	})
	p := mPage(t, mCall(t, emu, "POST", "/v2/video/list/?fields=id,title", mToken(t, emu, mCarol, "video.list"), `{"max_count":1}`))
	assert.Equal(t, []map[string]any{{"id": "2", "title": "new <b>"}}, p.Videos)
	assert.Equal(t, int64(200_000), p.Cursor)
	assert.True(t, p.HasMore)
	assert.Panics(t, func() { emu.SetVideos(mCarol, []tiktoktest.Video{{ID: "1", CreateTime: 1}, {ID: "1", CreateTime: 2}}) })
	assert.Panics(t, func() { emu.SetVideos(mCarol, []tiktoktest.Video{{ID: "1", CreateTime: 1}, {ID: "2", CreateTime: 1}}) })
	assert.Panics(t, func() { emu.SetVideos("nobody", nil) })
	assert.Nil(t, emu.Videos("nobody"))
	assert.Len(t, emu.Videos(mBob), 4)

	c := emu.Counters()
	for _, e := range []tiktoktest.Endpoint{tiktoktest.EndpointVideoList, tiktoktest.EndpointVideoQuery, tiktoktest.EndpointVideoInit,
		tiktoktest.EndpointInboxInit, tiktoktest.EndpointContentInit, tiktoktest.EndpointPublishStatus,
		tiktoktest.EndpointPublishCancel, tiktoktest.EndpointUpload} {
		_, ok := c.Calls[e]
		assert.True(t, ok, "%s is counted", e)
	}
	assert.Equal(t, 1, c.Calls[tiktoktest.EndpointVideoList])
}
