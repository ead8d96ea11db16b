package transport

// hpackPolicy is how a browser's HPACK encoder chooses a representation
// for each header field. Servers can tell encoders apart by these choices
// (which fields enter the dynamic table, when Huffman coding is used), so
// each profile carries its browser's.
type hpackPolicy struct {
	// indexPseudo says which pseudo-header fields may be added to the
	// dynamic table; nil means all of them.
	indexPseudo map[string]bool
	// noIndex fields are always sent as literals without indexing, even
	// when the table holds the same name and value.
	noIndex map[string]bool
	// neverIndex fields are sent as never-indexed literals.
	neverIndex map[string]bool
	// shortCookie: cookie crumbs shorter than this many bytes are sent
	// without indexing. Zero means no such rule.
	shortCookie int
	// alwaysHuffman codes every string with Huffman; otherwise Huffman is
	// used only when it is shorter.
	alwaysHuffman bool
	// lastNameMatch references the last table entry with the field's
	// name in a literal; otherwise the first.
	lastNameMatch bool
	// halfTableLimit leaves out of the dynamic table entries larger than
	// half of it.
	halfTableLimit bool
}
