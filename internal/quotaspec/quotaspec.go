// Package quotaspec reads the written form of a quota, LIMIT/WINDOW with an
// optional /token or /app, shared by the client's configuration and the
// emulator's flags so that both accept the same text.
package quotaspec

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Spec is a quota as written. Off is true for "off" (no limit).
type Spec struct {
	Limit    int
	Window   time.Duration
	PerToken bool
	Off      bool
}

// Parse reads "600/1m", "100/2s", "6/1m/token", "10/1s/app" or "off",
// exactly: surrounding space is the caller's to trim. Its
// errors say what is wrong without a package prefix; callers add theirs
// and the text they were given.
func Parse(s string) (Spec, error) {
	if s == "off" {
		return Spec{Off: true}, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return Spec{}, errors.New("not LIMIT/WINDOW[/token|/app] or off")
	}
	limit, err := strconv.Atoi(parts[0])
	if err != nil || limit <= 0 {
		return Spec{}, errors.New("the limit must be a positive integer")
	}
	window, err := time.ParseDuration(parts[1])
	if err != nil || window <= 0 {
		return Spec{}, errors.New("the window must be a positive duration such as 1m or 2s")
	}
	sp := Spec{Limit: limit, Window: window}
	if len(parts) == 3 {
		switch parts[2] {
		case "token":
			sp.PerToken = true
		case "app":
		default:
			return Spec{}, errors.New("the keying must be token or app")
		}
	}
	return sp, nil
}
