package crawler

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/revisit-crawl/revisit/transport"
)

// Record is what the crawl writes for every fetch.
type Record struct {
	URL         string     `json:"url"`
	Status      int        `json:"status"`
	Depth       int        `json:"depth"`
	Bytes       int64      `json:"bytes"`
	Error       string     `json:"error"`
	Exit        string     `json:"exit"`
	Profile     string     `json:"profile"`
	TLS         *TLSRecord `json:"tls"`
	FetchedAt   time.Time  `json:"fetched_at"`
	DurationMS  float64    `json:"duration_ms"`
	Attempt     int        `json:"attempt"`
	ContentType string     `json:"content_type,omitempty"`
	Redirect    string     `json:"redirect,omitempty"`
}

// TLSRecord is the TLS part of a record: nil for plain HTTP.
type TLSRecord struct {
	Version    string `json:"version"`
	ALPN       string `json:"alpn"`
	NewConn    bool   `json:"new_conn"`
	PSKOffered bool   `json:"psk_offered"`
	Resumed    bool   `json:"resumed"`
}

func (r *Record) setConn(info transport.ConnInfo, resp *http.Response) {
	r.Exit, r.Profile = info.Exit, info.Profile
	if resp.TLS == nil && info.TLSVersion == 0 {
		return
	}
	version := info.TLSVersion
	if version == 0 && resp.TLS != nil {
		version = resp.TLS.Version
	}
	r.TLS = &TLSRecord{
		Version:    tlsVersion(version),
		ALPN:       info.ALPN,
		NewConn:    !info.Reused,
		PSKOffered: info.PSKOffered,
		Resumed:    info.Resumed,
	}
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "1.3"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS10:
		return "1.0"
	}
	return ""
}

// Sink receives what a crawl produces. Implementations must be safe for
// concurrent use: workers write at once.
type Sink interface {
	// WriteRecord receives the record of one fetch.
	WriteRecord(*Record) error
	// WriteItem receives a user item emitted by a callback.
	WriteItem(any) error
}

// JSONLSink writes records and items as JSON Lines, one object a line. It
// is safe for concurrent use.
type JSONLSink struct {
	// mu guards enc and err.
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

// NewJSONLSink returns a sink writing to w. The caller closes w.
func NewJSONLSink(w io.Writer) *JSONLSink {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &JSONLSink{enc: enc}
}

// WriteRecord writes a record as one line.
func (s *JSONLSink) WriteRecord(r *Record) error { return s.write(r) }

// WriteItem writes an item as one line.
func (s *JSONLSink) WriteItem(item any) error { return s.write(item) }

func (s *JSONLSink) write(v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.err = s.enc.Encode(v)
	return s.err
}

func (c *Crawler) write(r *Record) {
	if c.cfg.Sink == nil {
		return
	}
	if err := c.cfg.Sink.WriteRecord(r); err != nil {
		c.log.Warn("crawler: sink", "url", r.URL, "err", err)
	}
}
