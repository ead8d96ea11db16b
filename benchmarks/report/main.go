// Command report turns benchmark results into benchmarks/README.md.
//
//	report gobench -name NAME -title TITLE [-dir DIR] -- go test -bench ...
//	report render [-dir DIR] [-template FILE] [-out FILE]
//
// gobench runs a go test benchmark command, takes the median of each
// benchmark's figures over its -count runs, and writes DIR/NAME.json.
// render executes the template (benchmarks/README.tmpl) with the tables in
// DIR and writes the README. The template calls {{table "NAME"}} for a
// table, {{value "NAME" "KEY"}} for a named figure, {{has "NAME"}} to ask
// whether a table exists and {{machine}} for the machine the results came
// from.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: report gobench|render|machine [flags]")
	}
	switch args[0] {
	case "gobench":
		return gobench(args[1:])
	case "render":
		return render(args[1:])
	case "machine":
		fs := flag.NewFlagSet("machine", flag.ContinueOnError)
		dir := fs.String("dir", "benchmarks/results", "results directory")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return writeMachine(*dir)
	}
	return fmt.Errorf("unknown command %q", args[0])
}
