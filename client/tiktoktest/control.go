package tiktoktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// faultJSON is the wire form of a Fault for POST /_emulator/faults.
// Durations are Go duration strings ("250ms", "2s") or numbers of seconds.
type faultJSON struct {
	Endpoint    Endpoint        `json:"endpoint"`
	Status      int             `json:"status,omitempty"`
	Body        string          `json:"body,omitempty"`
	ContentType string          `json:"content_type,omitempty"`
	ErrorCode   string          `json:"error_code,omitempty"`
	RetryAfter  json.RawMessage `json:"retry_after,omitempty"`
	Delay       json.RawMessage `json:"delay,omitempty"`
	Drop        bool            `json:"drop,omitempty"`
	LoseAnswer  bool            `json:"lose_answer,omitempty"`
	Times       int             `json:"times,omitempty"`
}

func ctlOK(w http.ResponseWriter) { writeJSON(w, http.StatusOK, map[string]bool{"ok": true}) }

func ctlError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// ctlAction turns a Server method without arguments into a control
// handler that calls it and answers {"ok": true}.
func ctlAction(f func(*Server)) func(*Server, http.ResponseWriter, *http.Request) {
	return func(s *Server, w http.ResponseWriter, r *http.Request) {
		f(s)
		ctlOK(w)
	}
}

func (s *Server) ctlListFaults(w http.ResponseWriter, r *http.Request) {
	out := []faultJSON{}
	faults := s.Faults()
	for _, e := range s.endpoints() {
		f, ok := faults[e]
		if !ok {
			continue
		}
		fj := faultJSON{Endpoint: e, Status: f.Status, Body: f.Body, ContentType: f.ContentType,
			ErrorCode: f.ErrorCode, Drop: f.Drop, LoseAnswer: f.LoseAnswer, Times: f.Times}
		if f.RetryAfter > 0 {
			fj.RetryAfter, _ = json.Marshal(f.RetryAfter.String())
		}
		if f.Delay > 0 {
			fj.Delay, _ = json.Marshal(f.Delay.String())
		}
		out = append(out, fj)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ctlInjectFault(w http.ResponseWriter, r *http.Request) {
	var fj faultJSON
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fj); err != nil {
		ctlError(w, http.StatusBadRequest, fmt.Errorf("tiktoktest: fault JSON: %w", err))
		return
	}
	if !s.knownEndpoint(fj.Endpoint) {
		ctlError(w, http.StatusBadRequest, fmt.Errorf("tiktoktest: unknown endpoint %q (known: %v)", fj.Endpoint, s.endpoints()))
		return
	}
	retry, err1 := jsonDuration(fj.RetryAfter)
	delay, err2 := jsonDuration(fj.Delay)
	if err := errors.Join(err1, err2); err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	if fj.Status != 0 && (fj.Status < 100 || fj.Status > 999) || fj.Times < 0 {
		ctlError(w, http.StatusBadRequest, errors.New("tiktoktest: status must be 100..999 and times >= 0"))
		return
	}
	s.InjectFault(fj.Endpoint, Fault{Status: fj.Status, Body: fj.Body, ContentType: fj.ContentType,
		ErrorCode: fj.ErrorCode, RetryAfter: retry, Delay: delay, Drop: fj.Drop, LoseAnswer: fj.LoseAnswer,
		Times: fj.Times})
	ctlOK(w)
}

// jsonDuration reads "250ms"-style strings or a number of seconds.
func jsonDuration(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return parseDuration(str)
	}
	var secs float64
	if err := json.Unmarshal(raw, &secs); err != nil || secs < 0 {
		return 0, fmt.Errorf("tiktoktest: bad duration %s", raw)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

// parseDuration reads "250ms"-style strings or a bare number of seconds.
func parseDuration(str string) (time.Duration, error) {
	if secs, err := strconv.ParseFloat(str, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(str)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("tiktoktest: bad duration %q", str)
	}
	return d, nil
}

func (s *Server) ctlClearFaults(w http.ResponseWriter, r *http.Request) {
	e := Endpoint(r.URL.Query().Get("endpoint"))
	switch {
	case e == "":
		s.ClearFaults()
	case s.knownEndpoint(e):
		s.ClearFault(e)
	default:
		ctlError(w, http.StatusBadRequest, fmt.Errorf("tiktoktest: unknown endpoint %q", e))
		return
	}
	ctlOK(w)
}

func (s *Server) ctlCounters(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Counters())
}

func (s *Server) ctlUsers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Users())
}

// ctlParams reads control parameters from the query string and from a form
// or JSON object body (body wins).
func ctlParams(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range r.URL.Query() {
		out[k] = v[0]
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	if err != nil {
		return nil, fmt.Errorf("tiktoktest: reading body: %w", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return out, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("tiktoktest: form: %w", err)
		}
		for k, v := range form {
			out[k] = v[0]
		}
		return out, nil
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("tiktoktest: body must be a form or a JSON object: %w", err)
	}
	for k, v := range obj {
		switch v := v.(type) {
		case string:
			out[k] = v
		case []any:
			parts := make([]string, 0, len(v))
			for _, p := range v {
				parts = append(parts, fmt.Sprint(p))
			}
			out[k] = strings.Join(parts, ",")
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out, nil
}

func (s *Server) ctlApproveAs(w http.ResponseWriter, r *http.Request) {
	p, err := ctlParams(w, r)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	if p["open_id"] == "" {
		ctlError(w, http.StatusBadRequest, errors.New("tiktoktest: open_id is required"))
		return
	}
	s.ApproveAs(p["open_id"])
	ctlOK(w)
}

func (s *Server) ctlAdvanceClock(w http.ResponseWriter, r *http.Request) {
	p, err := ctlParams(w, r)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	d, err := parseDuration(p["by"])
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	s.AdvanceClock(d)
	writeJSON(w, http.StatusOK, map[string]string{"now": s.Now().UTC().Format(time.RFC3339Nano)})
}

func (s *Server) ctlIssueToken(w http.ResponseWriter, r *http.Request) {
	p, err := ctlParams(w, r)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	var scopes []string
	if p["scope"] != "" {
		scopes = strings.Split(p["scope"], ",")
	}
	tok, err := s.IssueToken(p["open_id"], scopes...)
	if err != nil {
		ctlError(w, http.StatusBadRequest, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, tok)
}

// serveAvatar draws a round avatar with the user's initials, so the default
// users have pictures without any network access.
func (s *Server) serveAvatar(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u, ok := s.userLocked(r.URL.Query().Get("open_id"))
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	size, err := strconv.Atoi(r.URL.Query().Get("size"))
	if err != nil || size < 16 || size > 1080 {
		size = 168
	}
	var sum uint32
	for _, c := range u.OpenID {
		sum = sum*31 + uint32(c)
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_ = avatarTemplate.Execute(w, map[string]any{"Size": size, "Hue": sum % 360, "Initials": initials(u.DisplayName)})
}

var avatarTemplate = template.Must(template.New("avatar").Parse(
	`<svg xmlns="http://www.w3.org/2000/svg" width="{{.Size}}" height="{{.Size}}" viewBox="0 0 100 100">` +
		`<circle cx="50" cy="50" r="50" fill="hsl({{.Hue}},55%,45%)"/>` +
		`<text x="50" y="50" dy=".35em" text-anchor="middle" font-family="sans-serif" font-size="40" fill="#fff">{{.Initials}}</text></svg>`))
