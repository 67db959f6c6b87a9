package tiktoktest

import (
	"net/http"
	"slices"
	"sort"
)

// Paths the emulator serves, as TikTok documents them (trailing slash
// included; a path without it is answered 404 like any unknown path).
const (
	pathAuthorize     = "/v2/auth/authorize/"
	pathToken         = "/v2/oauth/token/"
	pathRevoke        = "/v2/oauth/revoke/"
	pathUserInfo      = "/v2/user/info/"
	pathCreatorInfo   = "/v2/post/publish/creator_info/query/"
	pathVideoList     = "/v2/video/list/"
	pathVideoQuery    = "/v2/video/query/"
	pathVideoInit     = "/v2/post/publish/video/init/"
	pathInboxInit     = "/v2/post/publish/inbox/video/init/"
	pathContentInit   = "/v2/post/publish/content/init/"
	pathPublishStatus = "/v2/post/publish/status/fetch/"
	pathPublishCancel = "/v2/post/publish/cancel/"
	pathUpload        = "/upload/"
)

// Control paths; see doc.go and README.md. The avatar and cover images live
// here too: the emulator serves them itself when a user or video has none.
const (
	pathControl = "/_emulator/"
	pathAvatar  = pathControl + "avatar"
	pathCover   = pathControl + "cover"
)

// routeEntry is one line of routeTable: a method and exact path, the
// endpoint the call counts as ("" for control paths, which are neither
// counted nor faulted), and the handler as a method expression.
type routeEntry struct {
	method   string
	path     string
	endpoint Endpoint
	handler  func(*Server, http.ResponseWriter, *http.Request)
}

// routeTable is the one list of every route the emulator serves: TikTok's
// OAuth, user and creator info, video, posting and upload endpoints, and
// every control path under /_emulator/. NewHandler registers exactly these
// and nothing else; any other path is 404, any other method on a listed
// path is 405. A new endpoint adds a line here and its handler in the file
// for its job.
var routeTable = []routeEntry{
	// OAuth (authorize.go, token.go).
	{http.MethodGet, pathAuthorize, EndpointAuthorize, (*Server).serveAuthorize},
	{http.MethodPost, pathAuthorize, EndpointAuthorize, (*Server).serveConsent},
	{http.MethodPost, pathToken, EndpointToken, (*Server).serveToken},
	{http.MethodPost, pathRevoke, EndpointRevoke, (*Server).serveRevoke},

	// User and creator info (api.go).
	{http.MethodGet, pathUserInfo, EndpointUserInfo, (*Server).serveUserInfo},
	{http.MethodPost, pathCreatorInfo, EndpointCreatorInfo, (*Server).serveCreatorInfo},

	// Display API videos (video.go).
	{http.MethodPost, pathVideoList, EndpointVideoList, (*Server).serveVideoList},
	{http.MethodPost, pathVideoQuery, EndpointVideoQuery, (*Server).serveVideoQuery},

	// Content Posting API (post.go) and the upload host (upload.go).
	{http.MethodPost, pathVideoInit, EndpointVideoInit, (*Server).serveVideoInit},
	{http.MethodPost, pathInboxInit, EndpointInboxInit, (*Server).serveInboxInit},
	{http.MethodPost, pathContentInit, EndpointContentInit, (*Server).serveContentInit},
	{http.MethodPost, pathPublishStatus, EndpointPublishStatus, (*Server).servePublishStatus},
	{http.MethodPost, pathPublishCancel, EndpointPublishCancel, (*Server).servePublishCancel},
	{http.MethodPut, pathUpload, EndpointUpload, (*Server).serveUpload},

	// Images the emulator serves for users and videos without their own
	// (control.go, video.go).
	{http.MethodGet, pathAvatar, "", (*Server).serveAvatar},
	{http.MethodGet, pathCover, "", (*Server).serveCover},

	// Controls: faults, counters, tokens, consent, users, clock (control.go),
	// quotas (quota.go).
	{http.MethodGet, pathControl + "faults", "", (*Server).ctlListFaults},
	{http.MethodPost, pathControl + "faults", "", (*Server).ctlInjectFault},
	{http.MethodDelete, pathControl + "faults", "", (*Server).ctlClearFaults},
	{http.MethodGet, pathControl + "counters", "", (*Server).ctlCounters},
	{http.MethodPost, pathControl + "reset-counters", "", ctlAction((*Server).ResetCounters)},
	{http.MethodPost, pathControl + "kill-access-tokens", "", ctlAction((*Server).KillAccessTokens)},
	{http.MethodPost, pathControl + "revoke-all", "", ctlAction((*Server).RevokeAllGrants)},
	{http.MethodPost, pathControl + "deny-next-consent", "", ctlAction((*Server).DenyNextConsent)},
	{http.MethodPost, pathControl + "approve-as", "", (*Server).ctlApproveAs},
	{http.MethodGet, pathControl + "users", "", (*Server).ctlUsers},
	{http.MethodPost, pathControl + "advance-clock", "", (*Server).ctlAdvanceClock},
	{http.MethodPost, pathControl + "issue-token", "", (*Server).ctlIssueToken},
	{http.MethodGet, pathControl + "quotas", "", (*Server).ctlQuotas},
	{http.MethodPost, pathControl + "quotas", "", (*Server).ctlSetQuotas},
	{http.MethodPut, pathControl + "quotas", "", (*Server).ctlSetQuotas},
	{http.MethodPost, pathControl + "reset-quotas", "", ctlAction((*Server).ResetQuotas)},

	// Controls: posting and upload (post.go, upload.go).
	{http.MethodGet, pathControl + "media-config", "", (*Server).ctlMediaConfig},
	{http.MethodPost, pathControl + "media-config", "", (*Server).ctlMediaConfig},
	{http.MethodGet, pathControl + "publish", "", (*Server).ctlPublish},
	{http.MethodPost, pathControl + "fail-publish", "", (*Server).ctlFailPublish},
	{http.MethodPost, pathControl + "upload-faults", "", (*Server).ctlInjectUploadFault},
	{http.MethodDelete, pathControl + "upload-faults", "", (*Server).ctlClearUploadFaults},
}

// route is one path: the endpoint it counts as ("" for control endpoints,
// which are neither counted nor faulted) and a handler per method.
type route struct {
	endpoint Endpoint
	methods  map[string]http.HandlerFunc
}

// registerRoutes registers every line of routeTable.
func (s *Server) registerRoutes() {
	for _, e := range routeTable {
		h := e.handler
		s.handle(e.method, e.path, e.endpoint, func(w http.ResponseWriter, r *http.Request) { h(s, w, r) })
	}
}

// handle registers h for method and path. Every path goes through here, so
// counting, faults and logging apply the same way to all of them.
func (s *Server) handle(method, path string, e Endpoint, h http.HandlerFunc) {
	rt := s.routes[path]
	if rt == nil {
		rt = &route{endpoint: e, methods: make(map[string]http.HandlerFunc)}
		s.routes[path] = rt
	}
	if rt.endpoint != e {
		panic("tiktoktest: path " + path + " registered for two endpoints")
	}
	rt.methods[method] = h
}

// endpoints returns every endpoint with a route, sorted.
func (s *Server) endpoints() []Endpoint {
	var out []Endpoint
	for _, rt := range s.routes {
		if rt.endpoint != "" && !slices.Contains(out, rt.endpoint) {
			out = append(out, rt.endpoint)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (s *Server) knownEndpoint(e Endpoint) bool { return slices.Contains(s.endpoints(), e) }
