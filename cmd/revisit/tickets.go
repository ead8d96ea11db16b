package main

import (
	"flag"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/revisit-crawl/revisit/ticketstore"
)

func (c *cli) tickets(args []string) error {
	fs := flag.NewFlagSet("revisit tickets", flag.ContinueOnError)
	path := fs.String("tickets", defaultTicketsPath(), "ticket store `FILE`, or redis://host:port/DB")
	partition := fs.String("partition", "", "purge only the partition with this `ID` (from 'tickets list')")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: revisit tickets list|purge [--tickets FILE|URL] [--partition ID]")
		fs.PrintDefaults()
	}
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || (rest[0] != "list" && rest[0] != "purge") {
		return usagef(fs, "tickets needs list or purge")
	}
	var id ticketstore.PartitionID
	if *partition != "" {
		if rest[0] != "purge" {
			return usagef(fs, "--partition goes with purge")
		}
		if id, err = ticketstore.ParsePartitionID(*partition); err != nil {
			return usagef(fs, "--partition: %v", err)
		}
	}
	routeRedisLog(slog.New(slog.DiscardHandler))
	store, err := openTickets(*path, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	if rest[0] == "list" {
		return c.listTickets(store)
	}
	if *partition != "" {
		err = store.Purge(id)
	} else {
		err = store.PurgeAll()
	}
	if err != nil {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "purged: tickets and cookies")
	return nil
}

func (c *cli) listTickets(store *ticketstore.Store) error {
	list, err := store.List()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PARTITION\tEXIT\tPROFILE\tCOOKIES\tSERVERS\tTICKETS\tEXPIRED\tNO-TICKET\tRECEIVED\tTAKEN\tEXPIRES")
	for _, p := range list {
		expires := "-"
		if !p.FirstExpiry.IsZero() {
			expires = p.FirstExpiry.UTC().Format(time.DateTime) + " .. " + p.LastExpiry.UTC().Format(time.DateTime)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", p.ID, p.Label, p.Profile,
			p.Cookies, p.Servers, p.Tickets, p.Expired, p.Marked, p.Received, p.Taken, expires)
	}
	return w.Flush()
}
