package frontier

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxRobotsSize is how much of a robots.txt is parsed; RFC 9309 requires at least 500
// KiB and lets the rest be ignored.
const MaxRobotsSize = 500 << 10

// Robots is a parsed robots.txt (RFC 9309). It is immutable and safe for concurrent
// use. The zero value allows everything.
type Robots struct {
	groups []robotsGroup
}

// robotsGroup is one group: its user-agent lines and the rules below them.
type robotsGroup struct {
	agents     []string // lowercase product tokens, or "*"
	rules      []robotsRule
	crawlDelay time.Duration
	hasDelay   bool
}

type robotsRule struct {
	allow   bool
	pattern string // percent-encoding normalized like canonical URLs
}

// ParseRobots parses a robots.txt body. Lines it does not understand are ignored, as
// are rules before the first user-agent line; only the first MaxRobotsSize bytes are
// read. Besides the user-agent, allow and disallow records of RFC 9309 it reads the
// widespread Crawl-delay extension, in seconds.
func ParseRobots(body []byte) *Robots {
	if len(body) > MaxRobotsSize {
		body = body[:MaxRobotsSize]
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))

	r := &Robots{}
	var cur *robotsGroup
	inAgents := false // the previous record was a user-agent line
	for len(body) > 0 {
		var line []byte
		if i := bytes.IndexAny(body, "\r\n"); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			line, body = body, nil
		}
		key, value, ok := robotsLine(line)
		if !ok {
			continue
		}
		switch key {
		case "user-agent", "useragent", "user agent":
			if !inAgents {
				r.groups = append(r.groups, robotsGroup{})
				cur = &r.groups[len(r.groups)-1]
			}
			cur.agents = append(cur.agents, agentToken(value))
			inAgents = true
			continue
		case "allow", "disallow":
			// An empty path matches nothing.
			if cur != nil && value != "" {
				cur.rules = append(cur.rules, robotsRule{allow: key == "allow",
					pattern: normalizePattern(value)})
			}
		case "crawl-delay":
			if d, ok := parseCrawlDelay(value); ok && cur != nil {
				cur.crawlDelay, cur.hasDelay = d, true
			}
		}
		inAgents = false
	}
	return r
}

// robotsLine splits a line into a lowercase key and a value, without comment or
// surrounding space.
func robotsLine(line []byte) (key, value string, ok bool) {
	if i := bytes.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	k, v, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return "", "", false
	}
	key = strings.ToLower(string(bytes.TrimSpace(k)))
	return key, string(bytes.TrimSpace(v)), key != ""
}

// agentToken reduces a user-agent value to its product token: the leading run of
// letters, underscores and hyphens, lowercased; "*" stays "*".
func agentToken(v string) string {
	if strings.HasPrefix(v, "*") {
		return "*"
	}
	return productToken(v)
}

func productToken(v string) string {
	i := 0
	for i < len(v) && (isAlpha(v[i]) || v[i] == '_' || v[i] == '-') {
		i++
	}
	return strings.ToLower(v[:i])
}

// normalizePattern makes a path pattern comparable with canonical URLs: same escapes,
// and a leading slash.
func normalizePattern(p string) string {
	p = escape(p, isQueryByte)
	if p[0] != '/' && p[0] != '*' {
		p = "/" + p
	}
	return p
}

func parseCrawlDelay(v string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	// Anything above a day is capped later anyway; avoid overflowing Duration.
	f = min(f, 86400)
	return time.Duration(f * float64(time.Second)), true
}

// Allowed reports whether the crawler whose product token is agent may fetch pathQuery,
// the path and query of a URL. The most specific (longest) matching rule decides; on a
// tie allow wins; /robots.txt is always allowed.
func (r *Robots) Allowed(agent, pathQuery string) bool {
	return r.rulesFor(productToken(agent)).allowed(pathQuery)
}

// CrawlDelay returns the Crawl-delay that applies to agent, and whether one was given.
func (r *Robots) CrawlDelay(agent string) (time.Duration, bool) {
	g := r.rulesFor(productToken(agent))
	return g.crawlDelay, g.hasDelay
}

// rulesFor merges the groups naming agent, or failing that the groups for "*", as RFC
// 9309 requires. agent must be a lowercase product token.
func (r *Robots) rulesFor(agent string) robotsGroup {
	if r == nil {
		return robotsGroup{}
	}
	merged := r.merge(agent)
	if merged.agents == nil {
		merged = r.merge("*")
	}
	return merged
}

func (r *Robots) merge(agent string) robotsGroup {
	var m robotsGroup
	for _, g := range r.groups {
		if !containsString(g.agents, agent) {
			continue
		}
		m.agents = append(m.agents, agent)
		m.rules = append(m.rules, g.rules...)
		if g.hasDelay && (!m.hasDelay || g.crawlDelay > m.crawlDelay) {
			m.crawlDelay, m.hasDelay = g.crawlDelay, true
		}
	}
	return m
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s && s != "" {
			return true
		}
	}
	return false
}

func (g robotsGroup) allowed(pathQuery string) bool {
	if pathQuery == "/robots.txt" {
		return true
	}
	best, allow := -1, true
	for _, rule := range g.rules {
		n := len(rule.pattern)
		if n < best || (n == best && !rule.allow) || !matchPattern(rule.pattern, pathQuery) {
			continue
		}
		best, allow = n, rule.allow
	}
	return allow
}

// matchPattern matches a robots.txt path pattern, where '*' stands for any sequence and
// a final '$' anchors the end. Matching is greedy and leftmost for each literal piece,
// which finds a match whenever one exists, in time linear in the pieces.
func matchPattern(pattern, path string) bool {
	anchored := strings.HasSuffix(pattern, "$")
	if anchored {
		pattern = pattern[:len(pattern)-1]
	}
	pieces := strings.Split(pattern, "*")
	if !strings.HasPrefix(path, pieces[0]) {
		return false
	}
	if len(pieces) == 1 {
		return !anchored || len(path) == len(pieces[0])
	}
	pos := len(pieces[0])
	for _, p := range pieces[1 : len(pieces)-1] {
		i := strings.Index(path[pos:], p)
		if i < 0 {
			return false
		}
		pos += i + len(p)
	}
	last := pieces[len(pieces)-1]
	if anchored {
		return len(path)-pos >= len(last) && strings.HasSuffix(path, last)
	}
	return strings.Contains(path[pos:], last)
}
