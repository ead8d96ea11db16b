package tlstest

import "net"

// Reset closes c with a TCP RST instead of a FIN: the peer's next read or
// write fails with "connection reset by peer".
func Reset(c *net.TCPConn) {
	c.SetLinger(0)
	c.Close()
}

// HalfWriter passes writes on to the connection until Limit bytes went
// out, then resets it. Under a TLS server it makes one that dies halfway
// through its handshake flight.
type HalfWriter struct {
	*net.TCPConn
	// Limit is how many more bytes may be written.
	Limit int
}

// Write writes p, or the part of it within Limit and then resets the
// connection.
func (w *HalfWriter) Write(p []byte) (int, error) {
	if len(p) >= w.Limit {
		w.TCPConn.Write(p[:w.Limit])
		Reset(w.TCPConn)
		return 0, net.ErrClosed
	}
	w.Limit -= len(p)
	return w.TCPConn.Write(p)
}
