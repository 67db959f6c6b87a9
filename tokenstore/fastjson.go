package tokenstore

import (
	"time"
	"unicode/utf8"

	"github.com/tiktokkit/tiktokkit/client"
)

// decodeTokenFast decodes the JSON that json.Marshal makes of a
// client.Token, several times faster than encoding/json. It accepts only a
// plain subset: an object whose members are the Token's exact JSON names
// with string values (scopes: an array of strings), strings without escape
// sequences, valid UTF-8 and no control characters. For anything else it
// reports false and the caller uses encoding/json, so the result never
// differs from json.Unmarshal's (FuzzFastDecode checks this).
func decodeTokenFast(plain []byte) (*client.Token, bool) {
	// One string for the whole input: every field is a substring of it.
	src := string(plain)
	p := parser{s: src}
	tok := new(client.Token)
	p.space()
	if !p.byte('{') {
		return nil, false
	}
	p.space()
	if p.byte('}') {
		return tok, p.end()
	}
	for {
		p.space()
		name, ok := p.str()
		if !ok {
			return nil, false
		}
		p.space()
		if !p.byte(':') {
			return nil, false
		}
		p.space()
		switch name {
		case "access_token":
			tok.AccessToken, ok = p.str()
		case "refresh_token":
			tok.RefreshToken, ok = p.str()
		case "token_type":
			tok.TokenType, ok = p.str()
		case "open_id":
			tok.OpenID, ok = p.str()
		case "scopes":
			tok.Scopes, ok = p.strs()
		case "expiry":
			tok.Expiry, ok = p.time()
		case "refresh_expiry":
			tok.RefreshExpiry, ok = p.time()
		default:
			return nil, false
		}
		if !ok {
			return nil, false
		}
		p.space()
		if p.byte('}') {
			return tok, p.end()
		}
		if !p.byte(',') {
			return nil, false
		}
	}
}

type parser struct {
	s string
	i int
}

func (p *parser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) byte(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end reports whether only white space is left.
func (p *parser) end() bool {
	p.space()
	return p.i == len(p.s)
}

// str reads a string without escapes.
func (p *parser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start := p.i
	ascii := true
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			v := p.s[start:p.i]
			p.i++
			if !ascii && !utf8.ValidString(v) {
				return "", false
			}
			return v, true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		p.i++
	}
	return "", false
}

// strs reads an array of strings; an empty array gives an empty slice, as
// encoding/json does.
func (p *parser) strs() ([]string, bool) {
	if !p.byte('[') {
		return nil, false
	}
	out := make([]string, 0, 4)
	p.space()
	if p.byte(']') {
		return out, true
	}
	for {
		p.space()
		v, ok := p.str()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		p.space()
		if p.byte(']') {
			return out, true
		}
		if !p.byte(',') {
			return nil, false
		}
	}
}

// time reads a quoted RFC 3339 time with time.Time's own JSON decoder.
func (p *parser) time() (time.Time, bool) {
	start := p.i
	if _, ok := p.str(); !ok {
		return time.Time{}, false
	}
	var t time.Time
	if err := t.UnmarshalJSON([]byte(p.s[start:p.i])); err != nil {
		return time.Time{}, false
	}
	return t, true
}
