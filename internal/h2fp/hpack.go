package h2fp

import (
	"errors"
	"fmt"

	"golang.org/x/net/http2/hpack"
)

// Representation is the way HPACK coded a header field (RFC 7541 section
// 6).
type Representation uint8

// The HPACK representations of a header field. The zero value stands for
// none.
const (
	// Indexed names a whole field in the static or dynamic table.
	Indexed Representation = iota + 1
	// LiteralIncremental is a literal added to the dynamic table
	// (prefix 01).
	LiteralIncremental
	// LiteralNoIndex is a literal left out of the dynamic table
	// (prefix 0000).
	LiteralNoIndex
	// LiteralNeverIndexed is a literal that intermediaries must not
	// index either (prefix 0001).
	LiteralNeverIndexed
)

// String returns the name of r's constant.
func (r Representation) String() string {
	switch r {
	case Indexed:
		return "Indexed"
	case LiteralIncremental:
		return "LiteralIncremental"
	case LiteralNoIndex:
		return "LiteralNoIndex"
	case LiteralNeverIndexed:
		return "LiteralNeverIndexed"
	}
	return fmt.Sprintf("Representation(%d)", uint8(r))
}

// Field is one header field of a header block, with how it was coded.
type Field struct {
	Name, Value string
	Rep         Representation
	// Index is the table index the field referred to: the whole field's
	// for Indexed, the name's for a literal, where 0 means the name was
	// written out. Indexes 1 to 61 are the static table's, higher ones the
	// dynamic table's.
	Index uint64
	// NameHuffman and ValueHuffman report Huffman coded strings; both are
	// false for strings taken from a table.
	NameHuffman, ValueHuffman bool
}

// errBlock is the cause of the walker's failures; the caller wraps it in
// ErrHPACK.
var errBlock = errors.New("bad representation")

// decodeBlock decodes one complete header block with dec, whose dynamic
// table follows the client's, and classifies each field's representation.
func decodeBlock(dec *hpack.Decoder, block []byte) ([]Field, []uint32, error) {
	fields, updates, err := walkBlock(block)
	if err != nil {
		return nil, nil, err
	}
	decoded, err := dec.DecodeFull(block)
	if err != nil {
		return nil, nil, err
	}
	// Both read the same representations; a mismatch is a bug here.
	if len(decoded) != len(fields) {
		return nil, nil, fmt.Errorf("%d fields walked, %d decoded", len(fields), len(decoded))
	}
	for i, hf := range decoded {
		fields[i].Name, fields[i].Value = hf.Name, hf.Value
	}
	return fields, updates, nil
}

// walkBlock reads the representations of a header block without decoding
// their strings. It returns one Field per representation, names and
// values left empty, and the dynamic table size updates.
func walkBlock(b []byte) ([]Field, []uint32, error) {
	var fields []Field
	var updates []uint32
	for len(b) > 0 {
		if b[0]&0xe0 == 0x20 {
			size, rest, err := readInt(b, 5)
			if err != nil || size > 1<<32-1 {
				return nil, nil, fmt.Errorf("%w: table size update", errBlock)
			}
			updates = append(updates, uint32(size))
			b = rest
			continue
		}
		f, rest, err := walkField(b)
		if err != nil {
			return nil, nil, err
		}
		fields = append(fields, f)
		b = rest
	}
	return fields, updates, nil
}

// walkField reads one field representation from the start of b.
func walkField(b []byte) (Field, []byte, error) {
	var f Field
	var prefix uint
	switch {
	case b[0]&0x80 != 0:
		f.Rep, prefix = Indexed, 7
	case b[0]&0xc0 == 0x40:
		f.Rep, prefix = LiteralIncremental, 6
	case b[0]&0xf0 == 0x10:
		f.Rep, prefix = LiteralNeverIndexed, 4
	default: // 0000, since 001 (size updates) is handled by the caller
		f.Rep, prefix = LiteralNoIndex, 4
	}
	idx, b, err := readInt(b, prefix)
	if err != nil {
		return f, nil, fmt.Errorf("%w: %v index", errBlock, f.Rep)
	}
	f.Index = idx
	if f.Rep == Indexed {
		return f, b, nil
	}
	if idx == 0 {
		if f.NameHuffman, b, err = skipString(b); err != nil {
			return f, nil, fmt.Errorf("%w: %v name", errBlock, f.Rep)
		}
	}
	if f.ValueHuffman, b, err = skipString(b); err != nil {
		return f, nil, fmt.Errorf("%w: %v value", errBlock, f.Rep)
	}
	return f, b, nil
}

// readInt reads an integer with an n-bit prefix (RFC 7541 section 5.1)
// from the start of b, ignoring the bits above the prefix in b[0].
// Values past 2^56 are refused rather than overflowed.
func readInt(b []byte, n uint) (uint64, []byte, error) {
	if len(b) == 0 {
		return 0, nil, errBlock
	}
	limit := uint64(1)<<n - 1
	v := uint64(b[0]) & limit
	if v < limit {
		return v, b[1:], nil
	}
	for i, shift := 1, uint(0); i < len(b) && shift < 56; i, shift = i+1, shift+7 {
		v += uint64(b[i]&0x7f) << shift
		if b[i]&0x80 == 0 {
			return v, b[i+1:], nil
		}
	}
	return 0, nil, errBlock
}

// skipString steps over a string literal (RFC 7541 section 5.2) at the
// start of b and reports its H bit.
func skipString(b []byte) (huffman bool, rest []byte, err error) {
	if len(b) == 0 {
		return false, nil, errBlock
	}
	huffman = b[0]&0x80 != 0
	n, b, err := readInt(b, 7)
	if err != nil || n > uint64(len(b)) {
		return false, nil, errBlock
	}
	return huffman, b[n:], nil
}
