package transport

import "sync"

// h2Buffer holds the received, unread part of a response body as a queue
// of pooled chunks, so that a download costs no allocation per frame and
// none of the copying a growing slice would do. It is not safe for
// concurrent use: the connection's mu guards it.
type h2Buffer struct {
	chunks []*[]byte
	// off is how much of chunks[0] was read; size what is unread in all.
	off, size int
}

const h2ChunkSize = 16 << 10

var h2Chunks = sync.Pool{New: func() any {
	b := make([]byte, 0, h2ChunkSize)
	return &b
}}

func (b *h2Buffer) Len() int { return b.size }

func (b *h2Buffer) Write(p []byte) {
	b.size += len(p)
	for len(p) > 0 {
		var last *[]byte
		if n := len(b.chunks); n > 0 && len(*b.chunks[n-1]) < cap(*b.chunks[n-1]) {
			last = b.chunks[n-1]
		} else {
			last = h2Chunks.Get().(*[]byte)
			b.chunks = append(b.chunks, last)
		}
		n := min(len(p), cap(*last)-len(*last))
		*last = append(*last, p[:n]...)
		p = p[n:]
	}
}

func (b *h2Buffer) Read(p []byte) int {
	n := 0
	for n < len(p) && len(b.chunks) > 0 {
		c := *b.chunks[0]
		k := copy(p[n:], c[b.off:])
		n += k
		b.off += k
		if b.off == len(c) {
			b.release(b.chunks[0])
			b.chunks = b.chunks[1:]
			b.off = 0
		}
	}
	b.size -= n
	return n
}

// Reset drops what is unread.
func (b *h2Buffer) Reset() {
	for _, c := range b.chunks {
		b.release(c)
	}
	b.chunks, b.off, b.size = nil, 0, 0
}

func (b *h2Buffer) release(c *[]byte) {
	*c = (*c)[:0]
	h2Chunks.Put(c)
}
