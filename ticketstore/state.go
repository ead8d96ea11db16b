package ticketstore

import (
	"slices"
	"time"
)

// serverState is what a partition keeps for one server key: its tickets,
// newest first, and its "offer no ticket" mark. The bbolt backend stores
// one per key.
type serverState struct {
	tickets []Ticket
	mark    time.Time
}

func (st *serverState) clone() *serverState {
	c := &serverState{mark: st.mark}
	c.tickets = append([]Ticket(nil), st.tickets...)
	return c
}

func (st *serverState) empty() bool { return len(st.tickets) == 0 && st.mark.IsZero() }

// add stores t by Chrome's rule: a TLS 1.3 ticket goes in front and pushes
// out the oldest beyond MaxPerServer; a TLS 1.2 session replaces them all.
func (st *serverState) add(t Ticket) {
	if !t.TLS13 {
		st.tickets = append(st.tickets[:0], t)
		return
	}
	kept := make([]Ticket, 0, MaxPerServer)
	kept = append(kept, t)
	for _, old := range st.tickets {
		if len(kept) == MaxPerServer {
			break
		}
		if old.TLS13 {
			kept = append(kept, old)
		}
	}
	st.tickets = kept
}

// take returns the newest live ticket, removing it if it is TLS 1.3, and
// drops every expired one. changed reports whether st was modified.
func (st *serverState) take(now time.Time) (t Ticket, ok, changed bool) {
	n := len(st.tickets)
	st.tickets = slices.DeleteFunc(st.tickets, func(t Ticket) bool { return !t.live(now) })
	changed = len(st.tickets) != n
	if len(st.tickets) == 0 {
		return Ticket{}, false, changed
	}
	t = st.tickets[0]
	if t.TLS13 {
		st.tickets = slices.Delete(st.tickets, 0, 1)
		changed = true
	}
	return t, true, changed
}

func (st *serverState) marked(now time.Time) bool { return now.Before(st.mark) }

// lastUse is when everything in st has expired: the latest of its tickets'
// expiry and its mark. Past it the state can be pruned whole.
func (st *serverState) lastUse() time.Time {
	last := st.mark
	for _, t := range st.tickets {
		if t.Expires.After(last) {
			last = t.Expires
		}
	}
	return last
}
