package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// redisServer is a redis-server child process on a loopback port, with
// persistence off, so that its CPU time and memory can be read while the
// workers crawl through it.
type redisServer struct {
	cmd  *exec.Cmd
	addr string
	rdb  *redis.Client
	tick time.Duration // of the times in /proc/PID/stat
}

// startRedis starts redis-server at path and waits until it answers PING.
func startRedis(ctx context.Context, path, dir string) (*redisServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// Saving and the append-only file are off: the crawl's keys live in
	// memory only, as the frontier's figures should not include disk writes
	// that a deployment may or may not have. Latency tracking is off too:
	// it allocates a histogram of about 25 KB for each command the first
	// time the command runs, and counts it in used_memory, where the first
	// crawl would be charged for it.
	cmd := exec.CommandContext(ctx, path, "--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--latency-tracking", "no", "--dir", dir,
		"--loglevel", "warning")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w (apt-get install redis-server)", path, err)
	}
	s := &redisServer{cmd: cmd, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		tick: clockTick()}
	s.rdb = redis.NewClient(&redis.Options{Addr: s.addr, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled}})
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls with PING until the server answers, for ten seconds at
// most.
func (s *redisServer) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := s.rdb.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis-server on %s does not answer: %w", s.addr, err)
		case <-tick.C:
		}
	}
}

func (s *redisServer) stop() {
	s.rdb.Close()
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
}

// url returns the frontier URL of the named crawl in database 0.
func (s *redisServer) url(crawl string) string {
	return "redis://" + s.addr + "/0?crawl=" + crawl
}

// memory is what INFO memory says of the server's memory.
type memory struct {
	// used is used_memory: the bytes the server's allocator holds for
	// data, clients and its own structures.
	used int64
	// clients is mem_clients_normal, the part of used that the buffers of
	// client connections take.
	clients int64
}

// memory reads INFO memory.
func (s *redisServer) memory(ctx context.Context) (memory, error) {
	var m memory
	info, err := s.rdb.Info(ctx, "memory").Result()
	if err != nil {
		return m, err
	}
	for _, f := range []struct {
		name string
		to   *int64
	}{{"used_memory", &m.used}, {"mem_clients_normal", &m.clients}} {
		v, ok := infoField(info, f.name)
		if !ok {
			return m, fmt.Errorf("INFO memory has no %s", f.name)
		}
		if *f.to, err = strconv.ParseInt(v, 10, 64); err != nil {
			return m, fmt.Errorf("INFO memory: %s: %w", f.name, err)
		}
	}
	return m, nil
}

// samplePeak reads INFO memory every interval until the returned function
// is called; that returns the sample with the highest used_memory.
func (s *redisServer) samplePeak(ctx context.Context, every time.Duration) (stop func() memory) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan memory)
	go func() {
		var peak memory
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if m, err := s.memory(ctx); err == nil && m.used > peak.used {
				peak = m
			}
			select {
			case <-ctx.Done():
				done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return func() memory {
		cancel()
		return <-done
	}
}

// version returns the server's redis_version, or "" when INFO fails.
func (s *redisServer) version(ctx context.Context) string {
	info, err := s.rdb.Info(ctx, "server").Result()
	if err != nil {
		return ""
	}
	v, _ := infoField(info, "redis_version")
	return v
}

// infoField returns a field of an INFO reply.
func infoField(info, name string) (string, bool) {
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// cpu returns the server's user plus system time so far, from
// /proc/PID/stat.
func (s *redisServer) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name, in brackets, may hold spaces; the fields after it
	// start with the state (field 3), so utime and stime (14 and 15) are
	// the 12th and 13th.
	var fields []string
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 {
		fields = strings.Fields(string(b[i+1:]))
	}
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", s.cmd.Process.Pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", s.cmd.Process.Pid, err)
	}
	return time.Duration(utime+stime) * s.tick, nil
}

// clockTick returns the unit of the times in /proc/PID/stat, 1/CLK_TCK
// seconds; CLK_TCK is 100 on nearly every Linux system.
func clockTick() time.Duration {
	hz := int64(100)
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			hz = n
		}
	}
	return time.Second / time.Duration(hz)
}

// freePort returns a loopback port nothing listens on now. Another
// process could take it before redis-server does; then redis-server exits
// and startRedis reports it.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
