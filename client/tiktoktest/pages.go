package tiktoktest

import (
	"html/template"
	"net/http"
)

// noStore forbids caching an answer: the authorize pages, token answers
// and control answers carry codes, tokens or state.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// setPageHeaders sets the headers of an HTML page: no framing, no sniffing,
// no referrer, and a policy that allows inline style and images only.
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src * data:; frame-ancestors 'none'")
}

// writeAuthErrorPage shows TikTok's "We couldn't log in" page. It never
// redirects: the redirect URI cannot be trusted.
func (s *Server) writeAuthErrorPage(w http.ResponseWriter, status int, problems []string) {
	setPageHeaders(w)
	w.WriteHeader(status)
	_ = errorTemplate.Execute(w, problems)
}

// consentScope is one scope line of the consent page.
type consentScope struct {
	Name, Text string
	Locked     bool
}

// consentPage is what the consent page shows.
type consentPage struct {
	AppName, ClientKey, Nonce, Selected, Redirect string
	Scopes                                        []consentScope
	Users                                         []User
}

// pageStyle is the shared style of the consent and error pages.
const pageStyle = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#161823}
h1{font-size:1.3rem}.box{border:1px solid #ddd;border-radius:8px;padding:1rem;margin:1rem 0}
label{display:block;margin:.4rem 0}button{font-size:1rem;padding:.6rem 1.4rem;border-radius:4px;border:0;margin-right:.5rem}
#approve{background:#fe2c55;color:#fff}#deny{background:#eee}.note{color:#666;font-size:.85rem}`

// consentTemplate is the consent page: pick a user, untick scopes,
// approve or deny. Its form posts back to the authorize path.
var consentTemplate = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in with TikTok (emulator)</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>` + pageStyle + `</style></head>
<body><h1>{{.AppName}} would like to access your TikTok account</h1>
<form method="post" action="/v2/auth/authorize/">
<input type="hidden" name="nonce" value="{{.Nonce}}"><input type="hidden" name="scope_choice" value="1">
<div class="box"><strong>Log in as</strong>
{{range .Users}}<label><input type="radio" name="open_id" value="{{.OpenID}}"{{if eq .OpenID $.Selected}} checked{{end}}> {{.DisplayName}} <span class="note">@{{.Username}}</span></label>
{{end}}</div>
<div class="box"><strong>This app will be able to</strong>
{{range .Scopes}}<label><input type="checkbox" name="scope" value="{{.Name}}" checked{{if .Locked}} disabled{{end}}> {{.Text}} <span class="note">{{.Name}}</span></label>
{{end}}</div>
<p class="note">You will be sent back to {{.Redirect}}<br>Client key: {{.ClientKey}}</p>
<button type="submit" name="action" value="approve" id="approve">Approve</button>
<button type="submit" name="action" value="deny" id="deny">Deny</button>
</form></body></html>
`))

// errorTemplate is TikTok's "We couldn't log in" page, listing the
// parameters at fault.
var errorTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in with TikTok (emulator)</title>
<style>` + pageStyle + `</style></head>
<body><h1>We couldn't log in with TikTok</h1>
<p>This may be due to specific app settings. If you're a developer, correct the following and try again:</p>
<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>
</body></html>
`))
