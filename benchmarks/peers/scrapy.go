package main

import (
	_ "embed"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// scrapySpider is the spider the scrapy mode runs; it is embedded so that
// the binary works from any directory.
//
//go:embed scrapy/spider.py
var scrapySpider []byte

// defaultPython is where Debian's python3-scrapy is importable; a
// python3 found first on PATH (pyenv, a virtualenv) may not have it.
const defaultPython = "/usr/bin/python3"

// runScrapy runs the Scrapy spider as a child process and passes on its
// result line. The all mode runs the spider directly instead, so that the
// process it measures is Python's.
func runScrapy(args []string) error {
	var python string
	f, err := parseCrawlFlags("scrapy", args, func(fs *flag.FlagSet) {
		fs.StringVar(&python, "python", defaultPython, "Python interpreter that has Scrapy")
	})
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "crawlbench-scrapy")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	script, err := writeSpider(dir)
	if err != nil {
		return err
	}
	cmd := exec.Command(python, scrapyArgs(script, f)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

func writeSpider(dir string) (string, error) {
	path := filepath.Join(dir, "spider.py")
	return path, os.WriteFile(path, scrapySpider, 0o644)
}

func scrapyArgs(script string, f *crawlFlags) []string {
	return []string{script, "--url", f.url, "--ca", f.ca,
		"--concurrency", strconv.Itoa(f.concurrency), "--per-host", strconv.Itoa(f.perHost)}
}

// scrapyAvailable reports whether python can import scrapy.
func scrapyAvailable(python string) bool {
	return exec.Command(python, "-c", "import scrapy").Run() == nil
}

// scrapyVersion returns the version of Scrapy python imports, or "".
func scrapyVersion(python string) string {
	out, err := exec.Command(python, "-c", "import scrapy; print(scrapy.__version__)").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
