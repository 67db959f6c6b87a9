package quotaspec

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Spec{
		"600/1m":     {Limit: 600, Window: time.Minute},
		"6/1m/token": {Limit: 6, Window: time.Minute, PerToken: true},
		"10/1s/app":  {Limit: 10, Window: time.Second},
		"off":        {Off: true},
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "600", "0/1m", "-1/1m", "x/1m", "1/0s", "1/-1s", "1/soon", "1/1m/user", "1/1m/token/x", " 1/1m"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
