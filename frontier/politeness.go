package frontier

import (
	"container/heap"
	"time"
)

// hostState is the in-memory politeness state of one host. Hosts stay in memory while
// they have work queued, leased or pending a commit, or are backing off; the rest live
// only in the hosts bucket. All fields are guarded by Bolt.mu.
type hostState struct {
	name string
	id   uint64

	queued   int64 // URLs in the queue bucket, less those leased but not yet committed
	inflight int   // leases plus a robots.txt fetch in progress

	nextStart    time.Time // earliest start of the next request: last start + delay
	backoffUntil time.Time // set by Backoff and robots.txt errors
	backoffLevel int       // consecutive Backoff calls since the last Done
	turn         uint64    // when the host was last served; breaks ties in the heap

	crawlDelay  time.Duration           // largest Crawl-delay of its robots.txt files
	robots      map[string]*robotsEntry // by origin; loaded on demand
	robotsBusy  bool                    // a robots.txt fetch is in progress
	robotsFails int                     // consecutive robots.txt failures

	// pending holds queue keys removed by operations not yet committed, so that reads
	// from a snapshot taken before the commit skip them.
	pending map[string]struct{}

	index int // position in readyHeap; -1 when not in it
}

func newHostState(name string, rec hostRecord) *hostState {
	h := &hostState{name: name, id: rec.ID, queued: rec.Queued, index: -1,
		backoffLevel: rec.BackoffLevel, pending: map[string]struct{}{}}
	if rec.BackoffUntil > 0 {
		h.backoffUntil = time.Unix(0, rec.BackoffUntil)
	}
	return h
}

// readyAt is when the host may next be served, if it has a free slot.
func (h *hostState) readyAt() time.Time {
	if h.backoffUntil.After(h.nextStart) {
		return h.backoffUntil
	}
	return h.nextStart
}

// eligible reports whether the host belongs in the ready heap.
func (h *hostState) eligible(perHost int) bool {
	return h.queued > 0 && h.inflight < perHost && !h.robotsBusy
}

// idle reports whether nothing needs the host in memory.
func (h *hostState) idle(now time.Time) bool {
	return h.queued <= 0 && h.inflight == 0 && len(h.pending) == 0 && !h.robotsBusy &&
		!h.backoffUntil.After(now)
}

// readyHeap orders eligible hosts by the time they may be served, then by how long
// ago they were served, which makes the ready ones take turns: a host with a million
// URLs gets one lease per round like a host with one.
type readyHeap []*hostState

func (q readyHeap) Len() int { return len(q) }

func (q readyHeap) Less(i, j int) bool {
	a, b := q[i].readyAt(), q[j].readyAt()
	if !a.Equal(b) {
		return a.Before(b)
	}
	return q[i].turn < q[j].turn
}

func (q readyHeap) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}

func (q *readyHeap) Push(x any) {
	h := x.(*hostState)
	h.index = len(*q)
	*q = append(*q, h)
}

func (q *readyHeap) Pop() any {
	old := *q
	h := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	h.index = -1
	return h
}

func (q readyHeap) peek() *hostState {
	if len(q) == 0 {
		return nil
	}
	return q[0]
}

// fix puts h where it belongs after a change: in the heap at the right place if it is
// eligible, out of it otherwise.
func (q *readyHeap) fix(h *hostState, perHost int) {
	switch in := h.index >= 0; {
	case h.eligible(perHost) && in:
		heap.Fix(q, h.index)
	case h.eligible(perHost):
		heap.Push(q, h)
	case in:
		heap.Remove(q, h.index)
	}
}

// backoffFor returns the pause for the level-th consecutive Backoff of a host: at least
// retryAfter, otherwise growing from BackoffBase, never above MaxBackoff.
func (c *config) backoffFor(level int, retryAfter time.Duration) time.Duration {
	d := c.BackoffBase
	for i := 1; i < level && d < c.MaxBackoff; i++ {
		d *= 2
	}
	return min(max(d, retryAfter), c.MaxBackoff)
}
