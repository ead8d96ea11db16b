package transport

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestH2Buffer writes and reads random sizes and compares with the bytes
// written.
func TestH2Buffer(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var b h2Buffer
	var want, got bytes.Buffer
	for i := 0; i < 2000; i++ {
		p := make([]byte, r.IntN(40000))
		for j := range p {
			p[j] = byte(r.Uint32())
		}
		b.Write(p)
		want.Write(p)
		out := make([]byte, r.IntN(50000))
		n := b.Read(out)
		got.Write(out[:n])
		if b.Len() != want.Len()-got.Len() {
			t.Fatalf("step %d: Len() = %d, want %d", i, b.Len(), want.Len()-got.Len())
		}
	}
	out := make([]byte, b.Len())
	got.Write(out[:b.Read(out)])
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatal("bytes read differ from bytes written")
	}
	b.Write([]byte("x"))
	b.Reset()
	if b.Len() != 0 || b.Read(make([]byte, 1)) != 0 {
		t.Error("Reset left data")
	}
}
