package proxytest

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// tunnel tracks when bytes last moved through an open tunnel, in either
// direction.
type tunnel struct {
	idle time.Duration
	last atomic.Int64 // unix nanoseconds
}

func (t *tunnel) touch() {
	t.last.Store(time.Now().UnixNano())
}

// idleLong reports whether nothing moved either way for the idle timeout.
func (t *tunnel) idleLong() bool {
	return time.Since(time.Unix(0, t.last.Load())) >= t.idle
}

// pipe copies between client and target, starting with the early bytes
// the client sent along with its request, until both directions have
// ended, one has failed, or the tunnel was idle too long.
func (p *Proxy) pipe(s *session, client, target net.Conn, early []byte) {
	t := &tunnel{idle: p.opts.IdleTimeout}
	t.touch()
	if len(early) > 0 {
		target.SetWriteDeadline(time.Now().Add(t.idle))
		if _, err := target.Write(early); err != nil {
			return
		}
	}

	// A failure in either direction closes both connections, which ends
	// the other direction too.
	upDone := make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(upDone)
		if err := t.copy(target, client, nil); err != nil {
			s.closeAll()
		}
	}()
	if err := t.copy(client, target, s.raw); err != nil {
		s.closeAll()
	}
	<-upDone
}

// copy moves bytes from src to dst. At the end of src it shuts the write
// half of dst (and of dstRaw, the TCP connection under a TLS dst) and
// returns nil.
func (t *tunnel) copy(dst, src, dstRaw net.Conn) error {
	buf := make([]byte, 32<<10)
	for {
		src.SetReadDeadline(time.Now().Add(t.idle))
		n, err := src.Read(buf)
		if n > 0 {
			t.touch()
			dst.SetWriteDeadline(time.Now().Add(t.idle))
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
			t.touch()
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return closeWrite(dst, dstRaw)
		case errors.Is(err, os.ErrDeadlineExceeded) && !t.idleLong():
			// Only this direction is quiet; the other one moves.
		default:
			return err
		}
	}
}

// closeWrite shuts the write half of c: for TLS a close_notify alert
// followed by a TCP half-close of raw, for TCP a half-close.
func closeWrite(c, raw net.Conn) error {
	if tc, ok := c.(*tls.Conn); ok {
		if err := tc.CloseWrite(); err != nil {
			return err
		}
		c = raw
	}
	if tc, ok := c.(*net.TCPConn); ok {
		return tc.CloseWrite()
	}
	return nil
}
