package frontier

import (
	"testing"
	"time"
)

func TestSplitURL(t *testing.T) {
	tests := []struct{ in, origin, host string }{
		{"http://a.test/x?y", "http://a.test", "a.test"},
		{"https://a.test:8443/", "https://a.test:8443", "a.test"},
		{"http://[::1]:8080/p", "http://[::1]:8080", "[::1]"},
		{"garbage", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if o, h := SplitURL(tc.in); o != tc.origin || h != tc.host {
				t.Errorf("SplitURL(%q) = %q, %q; want %q, %q", tc.in, o, h, tc.origin, tc.host)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	o := WithDefaults(&Options{PerHost: 5})
	if o.PerHost != 5 || o.MaxAttempts != 3 || o.Logger == nil || o.LeaseTimeout != 10*time.Minute {
		t.Errorf("WithDefaults(PerHost 5) = %+v", o)
	}
	if w := (&Options{RetryDelay: time.Second}).RetryWait(3); w < 3600*time.Millisecond ||
		w > 4400*time.Millisecond {
		t.Errorf("RetryWait(3) = %v, want 4s within 10%%", w)
	}
}
