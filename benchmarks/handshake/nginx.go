package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// nginxConf is the whole server: one process in the foreground, every
// path in its own directory, TLS 1.3 with HTTP/2, tickets from a key file
// and no session cache, so that a resumed session can only come from a
// ticket. keepalive_requests is raised so that the pooled client keeps
// one connection for the whole run.
var nginxConf = template.Must(template.New("nginx.conf").Parse(`daemon off;
master_process off;
pid "{{.Dir}}/nginx.pid";
error_log "{{.Dir}}/error.log" warn;

events {
    worker_connections 1024;
}

http {
    access_log off;
    default_type text/plain;
    keepalive_requests 1000000;
    client_body_temp_path "{{.Dir}}/tmp/body";
    proxy_temp_path "{{.Dir}}/tmp/proxy";
    fastcgi_temp_path "{{.Dir}}/tmp/fastcgi";
    uwsgi_temp_path "{{.Dir}}/tmp/uwsgi";
    scgi_temp_path "{{.Dir}}/tmp/scgi";

    server {
        listen 127.0.0.1:{{.Port}} ssl http2;
        ssl_certificate "{{.Cert}}";
        ssl_certificate_key "{{.Key}}";
        ssl_protocols TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets on;
        ssl_session_ticket_key "{{.Dir}}/ticket.key";

        location / {
            return 200 "ok";
        }
    }
}
`))

// startNginx runs nginx (the binary at bin) on a free loopback port with
// the chain's files in certDir, and waits until it accepts connections.
func startNginx(ctx context.Context, bin, certDir string) (*child, error) {
	dir, err := os.MkdirTemp(certDir, "nginx")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := writeNginxFiles(dir, certDir, port); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	setChildAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("nginx: %w", err)
	}
	c := &child{cmd: cmd, addr: "127.0.0.1:" + port, exited: make(chan struct{})}
	go c.wait()
	if err := awaitListen(ctx, c); err != nil {
		c.stop()
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return nil, fmt.Errorf("nginx: %w\n%s", err, strings.TrimSpace(string(log)))
	}
	return c, nil
}

// writeNginxFiles writes the configuration, an 80-byte ticket key and the
// temporary directories nginx wants.
func writeNginxFiles(dir, certDir, port string) error {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return err
	}
	key := make([]byte, 80)
	rand.Read(key)
	if err := os.WriteFile(filepath.Join(dir, "ticket.key"), key, 0o600); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "nginx.conf"))
	if err != nil {
		return err
	}
	err = nginxConf.Execute(f, map[string]string{
		"Dir": dir, "Port": port,
		"Cert": filepath.Join(certDir, "chain.pem"), "Key": filepath.Join(certDir, "key.pem"),
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// awaitListen waits up to 10 seconds for c to accept a connection.
func awaitListen(ctx context.Context, c *child) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", c.addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("exited: %v", c.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after 10s: %w", c.addr, err)
		}
	}
}
