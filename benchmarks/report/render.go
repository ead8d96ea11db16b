package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"text/template"
	"time"

	"github.com/revisit-crawl/revisit/benchmarks/internal/results"
)

// render executes the README template with the tables in the results
// directory.
func render(args []string) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	dir := fs.String("dir", "benchmarks/results", "results directory")
	tmplPath := fs.String("template", "benchmarks/README.tmpl", "template")
	outPath := fs.String("out", "benchmarks/README.md", "output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	load := func(name string) (*results.Table, error) {
		return results.Read(filepath.Join(*dir, name+".json"))
	}
	funcs := template.FuncMap{
		"table": func(name string) (string, error) {
			t, err := load(name)
			if err != nil {
				return "", err
			}
			return t.Markdown(), nil
		},
		"value": func(name, key string) (string, error) {
			t, err := load(name)
			if err != nil {
				return "", err
			}
			v, ok := t.Values[key]
			if !ok {
				return "", fmt.Errorf("table %s has no value %q", name, key)
			}
			return v, nil
		},
		"valuesOf": func(name string) (map[string]string, error) {
			t, err := load(name)
			if err != nil {
				return nil, err
			}
			return t.Values, nil
		},
		"has": func(name string) bool {
			_, err := os.Stat(filepath.Join(*dir, name+".json"))
			return err == nil
		},
		"machine": func() (string, error) {
			b, err := os.ReadFile(filepath.Join(*dir, "machine.txt"))
			return strings.TrimSpace(string(b)), err
		},
	}
	tmpl, err := template.New(filepath.Base(*tmplPath)).Funcs(funcs).Option("missingkey=error").ParseFiles(*tmplPath)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, nil); err != nil {
		return err
	}
	return os.WriteFile(*outPath, out.Bytes(), 0o644)
}

// writeMachine records what the results were measured on.
func writeMachine(dir string) error {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"), "%d", &kb)
		mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
	}
	kernel, _ := exec.Command("uname", "-r").Output()
	goVersion, _ := exec.Command("go", "version").Output()
	line := fmt.Sprintf("%s, %d cores%s; Linux %s; %s; measured %s",
		cpu, runtime.NumCPU(), mem, strings.TrimSpace(string(kernel)),
		strings.TrimSpace(strings.TrimPrefix(string(goVersion), "go version ")),
		time.Now().UTC().Format("2006-01-02"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "machine.txt"), []byte(line+"\n"), 0o644)
}
