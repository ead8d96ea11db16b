package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// childFlag, as the first argument, runs the program as one of the
// processes the benchmark measures against, not as the client: a Go TLS
// server or a delaying relay. It is left out of the usage text.
const childFlag = "-child"

// runChild runs a child mode. The child prints its listening address on
// the first line of standard output and exits when standard input
// closes, so that it does not outlive the benchmark.
func runChild(args []string) error {
	fs := flag.NewFlagSet("child", flag.ContinueOnError)
	dir := fs.String("dir", "", "server: directory holding chain.pem and key.pem")
	to := fs.String("to", "", "relay: address to forward to")
	rtt := fs.Duration("rtt", 0, "relay: round-trip time to add")
	if len(args) == 0 {
		return errors.New("no child mode")
	}
	mode := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	switch mode {
	case "server":
		return serveGo(ln, *dir)
	case "relay":
		return serveRelay(ln, *to, *rtt)
	}
	return fmt.Errorf("unknown child mode %q", mode)
}

// serveGo serves a two-byte page over HTTP/2 and HTTP/1.1 with crypto/tls,
// TLS 1.3 only, session tickets on (crypto/tls's default).
func serveGo(ln net.Listener, dir string) error {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "chain.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13},
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	fmt.Println(ln.Addr())
	return srv.ServeTLS(ln, "", "")
}

// serveRelay forwards every connection to addr, delaying each direction by
// half of rtt.
func serveRelay(ln net.Listener, addr string, rtt time.Duration) error {
	fmt.Println(ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go relay(c, addr, rtt)
	}
}

// relay forwards one connection. A loopback connect completes at once,
// where a real one takes a round trip before the client can send: the
// client's first bytes are held for that round trip, so a new connection
// costs its TCP handshake too.
func relay(client net.Conn, addr string, rtt time.Duration) {
	accepted := time.Now()
	server, err := net.Dial("tcp", addr)
	if err != nil {
		client.Close()
		return
	}
	done := make(chan struct{}, 2)
	go delayCopy(server, client, accepted.Add(rtt), rtt/2, done)
	go delayCopy(client, server, accepted, rtt/2, done)
	<-done
	<-done
	client.Close()
	server.Close()
}

// chunk is data read from one side, due to be written on the other.
type chunk struct {
	due  time.Time
	data []byte
}

// delayCopy copies src to dst in order, writing each chunk delay after it
// was read, and not before notBefore plus delay. When src ends it closes
// dst for writing, after the data before the end.
func delayCopy(dst, src net.Conn, notBefore time.Time, delay time.Duration, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	chunks := make(chan chunk, 4096)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				at := time.Now()
				if at.Before(notBefore) {
					at = notBefore
				}
				chunks <- chunk{due: at.Add(delay), data: buf[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range chunks {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.data); err != nil {
			// The reader may be blocked on a full channel: end it.
			src.Close()
			for range chunks {
			}
			return
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// child is a running child process of this program or nginx.
type child struct {
	cmd   *exec.Cmd
	stdin io.Closer
	addr  string
	// exited is closed when the process has been waited for.
	exited chan struct{}
	err    error
}

// startChild starts this program in a child mode and reads the address it
// listens on.
func startChild(ctx context.Context, args ...string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, append([]string{childFlag}, args...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	go c.wait()
	line, err := readLine(ctx, stdout)
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("child %s: %w", args[0], err)
	}
	c.addr = line
	return c, nil
}

func (c *child) wait() {
	c.err = c.cmd.Wait()
	close(c.exited)
}

// readLine reads the first line of r, giving up after 10 seconds or when
// ctx ends.
func readLine(ctx context.Context, r io.Reader) (string, error) {
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case line := <-got:
		if line == "" {
			return "", errors.New("exited before listening")
		}
		return line, nil
	case <-time.After(10 * time.Second):
		return "", errors.New("no address after 10s")
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// stop ends the child: by closing its standard input, or for nginx with
// SIGTERM; it is killed if it has not exited within 5 seconds.
func (c *child) stop() {
	if c.stdin != nil {
		c.stdin.Close()
	} else {
		c.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
	}
}
