package frontier_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/revisit-crawl/revisit/frontier"
)

// The crash test runs a simulated crawl in a child process (this test binary again),
// kills it with SIGKILL at random moments, and finally lets a run complete. Each child
// appends to a log, unbuffered: "S" when it starts, "F id" before fetching, "R id"
// after a Retry, "D id" after a Done. The log shows what the crawl did across the
// kills.
const (
	crashEnv     = "FRONTIER_CRASH_DIR"
	crashURLs    = 3000 // a tree: URL i links to 3i+1, 3i+2 and 3i+3
	crashHosts   = 20
	crashWorkers = 8
	crashKills   = 6
)

func crashURL(id int) string {
	return fmt.Sprintf("http://h%d.test/page/%d", id%crashHosts, id)
}

func TestCrashRecovery(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	t.Logf("seed %d", seed)

	killed := 0
	for run := 0; ; run++ {
		if run > crashKills+10 {
			t.Fatalf("crawl did not complete after %d runs", run)
		}
		var out bytes.Buffer
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashRecovery$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()

		limit := 2 * time.Minute
		if killed < crashKills {
			limit = 100*time.Millisecond + time.Duration(rng.Int64N(int64(400*time.Millisecond)))
		}
		timer := time.NewTimer(limit)
		select {
		case err := <-exited:
			timer.Stop()
			if err != nil {
				t.Fatalf("run %d failed: %v\n%s", run, err, out.String())
			}
			t.Logf("run %d completed the crawl", run)
			verifyCrash(t, dir, killed)
			return
		case <-timer.C:
			if killed == crashKills {
				cmd.Process.Kill()
				t.Fatalf("final run %d did not finish in %v\n%s", run, limit, out.String())
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-exited
			killed++
			t.Logf("run %d killed after %v", run, limit)
		}
	}
}

// crashChild crawls until drained. It is killed at any point.
func crashChild(t *testing.T, dir string) {
	ctx := context.Background()
	logf, err := os.OpenFile(filepath.Join(dir, "fetch.log"),
		os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	var logMu sync.Mutex
	logLine := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(logf, format+"\n", args...)
	}
	logLine("S")

	f, err := frontier.Open(filepath.Join(dir, "state.db"), &frontier.Options{
		PerHost: 2, MaxAttempts: 100, RetryDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if st, err := f.Stats(ctx); err != nil {
		t.Fatal(err)
	} else if st.Seen == 0 {
		if _, err := f.Push(ctx, frontier.Request{URL: crashURL(0)}); err != nil {
			t.Fatal(err)
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, crashWorkers)
	for range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- crashWorker(ctx, f, logLine)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func crashWorker(ctx context.Context, f frontier.Frontier, logLine func(string, ...any)) error {
	for {
		l, err := f.Next(ctx)
		if errors.Is(err, frontier.ErrDrained) {
			return nil
		}
		if err != nil {
			return err
		}
		var id int
		if _, err := fmt.Sscanf(l.URL[strings.LastIndexByte(l.URL, '/')+1:], "%d", &id); err != nil {
			return err
		}
		logLine("F %d", id)
		<-time.After(time.Millisecond)

		if id%17 == 0 && l.Attempts == 1 {
			if err := f.Retry(ctx, l, errors.New("simulated timeout")); err != nil {
				return err
			}
			logLine("R %d", id)
			continue
		}
		var links []frontier.Request
		for c := 3*id + 1; c <= 3*id+3 && c < crashURLs; c++ {
			links = append(links, frontier.Request{URL: crashURL(c), Depth: l.Depth + 1})
		}
		if _, err := f.Push(ctx, links...); err != nil {
			return err
		}
		if err := f.Done(ctx, l); err != nil {
			return err
		}
		logLine("D %d", id)
	}
}

// verifyCrash checks the log and the final state: every URL done, none fetched after
// its Done, and repeats only of URLs retried or in flight at a kill.
func verifyCrash(t *testing.T, dir string, kills int) {
	data, err := os.ReadFile(filepath.Join(dir, "fetch.log"))
	if err != nil {
		t.Fatal(err)
	}
	type state struct {
		done    bool
		fetched bool // a fetch in this run not followed by R or D
		ever    bool
	}
	ids := make([]state, crashURLs)
	runs, fetches, repeats := 0, 0, 0
	endRun := func() {
		inflight := 0
		for i := range ids {
			if ids[i].fetched {
				inflight++
				ids[i].fetched = false
			}
		}
		if inflight > crashWorkers {
			t.Errorf("run %d ended with %d fetches unsettled, more than %d workers",
				runs, inflight, crashWorkers)
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var kind string
		var id int
		fmt.Sscanf(sc.Text(), "%s %d", &kind, &id)
		if kind == "S" {
			if runs > 0 {
				endRun()
			}
			runs++
			continue
		}
		s := &ids[id]
		switch kind {
		case "F":
			fetches++
			if s.done {
				t.Errorf("URL %d fetched again after Done", id)
			}
			if s.fetched {
				t.Errorf("URL %d fetched twice in run %d without a retry", id, runs)
			}
			if s.ever {
				repeats++
			}
			s.fetched, s.ever = true, true
		case "R":
			s.fetched = false
		case "D":
			s.fetched, s.done = false, true
		}
	}
	for id, s := range ids {
		if !s.ever {
			t.Errorf("URL %d never fetched", id)
		}
	}
	t.Logf("%d runs (%d killed), %d fetches of %d URLs, %d repeats", runs, kills, fetches,
		crashURLs, repeats)

	f, err := frontier.Open(filepath.Join(dir, "state.db"), nil)
	if err != nil {
		t.Fatalf("reopen after the crawl: %v", err)
	}
	defer f.Close()
	st, err := f.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Done != crashURLs || st.Seen != crashURLs || st.Queued+st.Leased+st.Delayed+st.Failed != 0 {
		t.Errorf("final Stats = %+v, want all %d done", st, crashURLs)
	}
}
