package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/revisit-crawl/revisit/benchmarks/internal/results"
)

// gobench runs a go test benchmark command and records the medians.
func gobench(args []string) error {
	fs := flag.NewFlagSet("gobench", flag.ContinueOnError)
	name := fs.String("name", "", "table name (file DIR/NAME.json)")
	title := fs.String("title", "", "table title")
	dir := fs.String("dir", "benchmarks/results", "results directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cmdArgs := fs.Args()
	if *name == "" || len(cmdArgs) == 0 {
		return fmt.Errorf("gobench: need -name and a command after --")
	}
	var out bytes.Buffer
	cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
	cmd.Stdout = io.MultiWriter(&out, os.Stderr)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("gobench: %s: %w", strings.Join(cmdArgs, " "), err)
	}
	t, err := parseBench(&out)
	if err != nil {
		return err
	}
	t.Name, t.Title, t.Command = *name, *title, strings.Join(cmdArgs, " ")
	return t.Write(filepath.Join(*dir, *name+".json"))
}

// parseBench reads go test -bench output and returns one row per
// benchmark: the median of each unit over the runs, with the range when
// it ran more than once.
func parseBench(r io.Reader) (*results.Table, error) {
	samples := map[string]map[string][]float64{} // benchmark → unit → values
	var names, units []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := trimProcs(strings.TrimPrefix(f[0], "Benchmark"))
		if samples[name] == nil {
			samples[name] = map[string][]float64{}
			names = append(names, name)
		}
		// f[1] is the iteration count; then value unit pairs.
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			unit := f[i+1]
			if !slices.Contains(units, unit) {
				units = append(units, unit)
			}
			samples[name][unit] = append(samples[name][unit], v)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("gobench: no benchmark results in the output")
	}
	t := &results.Table{Columns: append([]string{"benchmark"}, units...)}
	for _, n := range names {
		row := []any{n}
		for _, u := range units {
			row = append(row, cell(samples[n][u]))
		}
		t.Add(row...)
		for _, u := range units {
			if vs := samples[n][u]; len(vs) > 0 {
				t.Set(n+" "+u, median(vs))
			}
		}
	}
	return t, nil
}

// trimProcs drops the -GOMAXPROCS suffix of a benchmark name.
func trimProcs(name string) string {
	if i := strings.LastIndex(name, "-"); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

func cell(vs []float64) string {
	if len(vs) == 0 {
		return ""
	}
	m := results.Float(median(vs))
	if len(vs) == 1 {
		return m
	}
	return fmt.Sprintf("%s (%s–%s)", m, results.Float(slices.Min(vs)), results.Float(slices.Max(vs)))
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
