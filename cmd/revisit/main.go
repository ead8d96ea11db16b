// Command revisit crawls the web as a returning browser visitor: its
// connections carry a real browser's TLS fingerprint and offer the TLS
// session tickets servers gave them before, kept on disk per proxy exit.
//
// Usage:
//
//	revisit crawl [flags] URL...
//	revisit tickets list|purge [--tickets FILE|URL]
//	revisit bench handshake [--n N] [--proxy URL] [--ca FILE] [--profile NAME] URL
//	revisit profiles
//
// Run "revisit crawl -h" and the like for the flags. Exit status: 0 done,
// 1 failure, 2 usage error, 130 interrupted (the state is saved; run the
// same command again to resume). Progress and logs go to standard error,
// page records to --out.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130
)

const usage = `usage:
  revisit crawl [flags] URL...
  revisit tickets list|purge [--tickets FILE|URL]
  revisit bench handshake [--n N] [--proxy URL] [--ca FILE] [--profile NAME] URL
  revisit profiles
Run "revisit COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// cli is one invocation: its output streams and the interruption state.
type cli struct {
	stdout, stderr io.Writer
	// logLevel is the level of the libraries' log on stderr; nil means
	// warnings and errors. Tests lower it to see every line.
	logLevel slog.Leveler
	// interrupted is set when the first SIGINT or SIGTERM arrived.
	interrupted atomic.Bool
}

func run(args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	ctx, stop := c.signalContext()
	defer stop()
	var err error
	switch args[0] {
	case "crawl":
		err = c.crawl(ctx, args[1:])
	case "tickets":
		err = c.tickets(args[1:])
	case "bench":
		err = c.bench(ctx, args[1:])
	case "profiles":
		err = c.profiles(args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "revisit: unknown command %q\n%s", args[0], usage)
		return exitUsage
	}
	return c.status(err)
}

// status turns a command's error into the exit status and reports it.
func (c *cli) status(err error) int {
	var ue *usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "revisit: %v\n", ue.err)
		if ue.fs != nil {
			ue.fs.SetOutput(c.stderr)
			ue.fs.Usage()
		}
		return exitUsage
	case c.interrupted.Load():
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(c.stderr, "revisit: %v\n", err)
		}
		fmt.Fprintln(c.stderr, "revisit: interrupted; state saved, run the same command again to resume")
		return exitInterrupted
	case err != nil:
		fmt.Fprintf(c.stderr, "revisit: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// signalContext returns a context cancelled by the first SIGINT or SIGTERM,
// so that the command stops cleanly and saves its state; a second signal
// exits at once.
func (c *cli) signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		c.interrupted.Store(true)
		fmt.Fprintln(c.stderr, "\nrevisit: stopping and saving state (interrupt again to quit at once)")
		cancel()
		select {
		case <-sigs:
			os.Exit(exitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// usageError is a bad flag, argument or value: exit status 2.
type usageError struct {
	fs  *flag.FlagSet
	err error
}

func (e *usageError) Error() string { return e.err.Error() }

func usagef(fs *flag.FlagSet, format string, args ...any) error {
	return &usageError{fs: fs, err: fmt.Errorf(format, args...)}
}

// parse parses flags and positional arguments in any order, so that
// "revisit crawl URL --depth 1" works as well as the other way round.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(os.Stderr)
				fs.Usage()
				return nil, err
			}
			return nil, &usageError{fs: fs, err: err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}
