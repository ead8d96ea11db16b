package ja4

import (
	"bytes"
	"io"
	"net"
	"sync"
)

// Recorded is what a [Recorder] saw at the start of one connection.
type Recorded struct {
	// Remote is the client's address.
	Remote net.Addr
	// Raw holds the bytes read while looking for the ClientHello: the
	// whole ClientHello records on success, whatever arrived otherwise.
	Raw []byte
	// Hello is the parsed ClientHello, nil when Err is set.
	Hello *Hello
	// Err says why no ClientHello was found: the client sent nothing,
	// closed early, or sent something else.
	Err error
}

// Recorder is a [net.Listener] whose connections record the ClientHello
// their client sends and then pass every byte on unchanged, so that a TLS
// server can be stacked on top:
//
//	rec := ja4.NewRecorder(ln)
//	srv := tls.NewListener(rec, cfg)
//	...
//	hellos := rec.Hellos()
//
// Accept never reads from the client. A connection looks for the
// ClientHello in its first Read, which the TLS server makes under its own
// deadline; a client that sends nothing or garbage gets an entry with Err
// set and its bytes are still passed on. A connection that is never read
// records nothing. A Recorder is safe for concurrent use; closing it closes
// the wrapped listener.
type Recorder struct {
	net.Listener

	// mu guards hellos.
	mu     sync.Mutex
	hellos []Recorded
}

// NewRecorder returns a Recorder accepting connections from inner.
func NewRecorder(inner net.Listener) *Recorder {
	return &Recorder{Listener: inner}
}

// Accept waits for the next connection of the wrapped listener and returns
// it wrapped.
func (r *Recorder) Accept() (net.Conn, error) {
	c, err := r.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, rec: r}, nil
}

// Hellos returns a copy of what was recorded so far, in the order the
// connections first read. The entries share their Raw bytes and Hello with
// later calls: treat them as read-only.
func (r *Recorder) Hellos() []Recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Recorded(nil), r.hellos...)
}

func (r *Recorder) add(rec Recorded) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hellos = append(r.hellos, rec)
}

// recordingConn replays the bytes read while recording before it reads
// from the network again.
type recordingConn struct {
	net.Conn
	rec *Recorder

	// mu serializes Read and guards the fields below.
	mu      sync.Mutex
	started bool
	pending []byte
	// pendingErr is the network error that ended the recording read,
	// returned once pending has been drained.
	pendingErr error
}

// Read records the ClientHello on its first call, then returns the recorded
// bytes, then reads from the network.
func (c *recordingConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		c.started = true
		c.recordLocked()
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if err := c.pendingErr; err != nil {
		c.pendingErr = nil
		return 0, err
	}
	return c.Conn.Read(p)
}

// recordLocked reads the ClientHello and files it with the Recorder.
func (c *recordingConn) recordLocked() {
	src := &errKeeper{r: c.Conn}
	raw, err := ReadClientHello(src)
	entry := Recorded{Remote: c.RemoteAddr(), Raw: bytes.Clone(raw), Err: err}
	if err == nil {
		entry.Hello, entry.Err = Parse(raw)
	}
	c.rec.add(entry)
	c.pending = raw
	c.pendingErr = src.err
}

// errKeeper remembers the first error of r, unwrapped, so that the reader of
// a recordingConn sees the same error the network gave.
type errKeeper struct {
	r   io.Reader
	err error
}

func (k *errKeeper) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if err != nil && k.err == nil {
		k.err = err
	}
	return n, err
}
