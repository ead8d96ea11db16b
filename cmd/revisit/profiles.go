package main

import (
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/revisit-crawl/revisit/transport"
)

func (c *cli) profiles(args []string) error {
	fs := flag.NewFlagSet("revisit profiles", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), "usage: revisit profiles") }
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef(fs, "profiles takes no arguments")
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for i, p := range transport.Profiles() {
		name := p.Name
		if len(p.Aliases) > 0 {
			name += " (" + strings.Join(p.Aliases, ", ") + ")"
		}
		if i == 0 {
			name += " default"
		}
		fmt.Fprintf(w, "%s\t%s\n", name, p.Claims)
		fmt.Fprintf(w, "\tuser agent\t%s\n", p.UserAgent)
		fmt.Fprintf(w, "\tJA4 first visit\t%s\n", p.JA4)
		fmt.Fprintf(w, "\tJA4 with ticket\t%s\n", p.JA4Revisit)
		fmt.Fprintf(w, "\tHTTP/2 (Akamai)\t%s\n", p.H2.Akamai())
	}
	return w.Flush()
}
