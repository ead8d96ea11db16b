package h2fp

import (
	"strconv"
	"strings"
)

// Akamai returns the Akamai HTTP/2 fingerprint of c, described in the
// package documentation:
//
//	1:65536;2:0;4:6291456;6:262144|15663105|0|m,a,s,p
func (c *Conn) Akamai() string {
	return c.akamaiSettings() + "|" + c.akamaiWindow() + "|" +
		c.akamaiPriorities() + "|" + c.akamaiPseudo()
}

func (c *Conn) akamaiSettings() string {
	parts := make([]string, len(c.Settings))
	for i, s := range c.Settings {
		parts[i] = strconv.Itoa(int(s.ID)) + ":" + strconv.FormatUint(uint64(s.Val), 10)
	}
	return strings.Join(parts, ";")
}

func (c *Conn) akamaiWindow() string {
	if len(c.WindowUpdates) == 0 {
		return "00"
	}
	return strconv.FormatUint(uint64(c.WindowUpdates[0]), 10)
}

func (c *Conn) akamaiPriorities() string {
	if len(c.Priorities) == 0 {
		return "0"
	}
	parts := make([]string, len(c.Priorities))
	for i, p := range c.Priorities {
		excl := "0"
		if p.Exclusive {
			excl = "1"
		}
		parts[i] = strconv.FormatUint(uint64(p.StreamID), 10) + ":" + excl + ":" +
			strconv.FormatUint(uint64(p.StreamDep), 10) + ":" + strconv.Itoa(int(p.Weight)+1)
	}
	return strings.Join(parts, ",")
}

func (c *Conn) akamaiPseudo() string {
	if len(c.Headers) == 0 {
		return ""
	}
	return c.Headers[0].PseudoOrder()
}
