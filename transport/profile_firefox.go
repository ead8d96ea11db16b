package transport

// firefox135 is Firefox 135 on Windows. Its ClientHello is the same from
// 135 to about 151 (JA4 t13d1717h2_5b57614c22b0_3cbfd9057e0d), so the
// User-Agent's version and the wire agree. Headers, HTTP/2 parameters and
// HPACK habits are those PROFILES.md gives from curl-impersonate's
// firefox135 target, Gecko's HPACK compressor and captures of Firefox
// 143 and 147.
func firefox135() *Profile {
	const ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:135.0) Gecko/20100101 Firefox/135.0"
	const accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	return &Profile{
		Name:      "firefox135",
		Aliases:   []string{"firefox"},
		Claims:    "Mozilla Firefox 135 on Windows 10 x64",
		UserAgent: ua,
		JA4:       "t13d1717h2_5b57614c22b0_3cbfd9057e0d",
		// With a ticket, 41 is an 18th extension. No capture of a
		// resuming Firefox is at hand: this is the value the spec
		// gives, pinned so that a change is seen.
		JA4Revisit: "t13d1718h2_5b57614c22b0_5dff20295fdc",
		spec:       firefox135Spec,
		// The places of content-type, content-length and origin (form
		// posts) are from Firefox captures outside PROFILES.md.
		headers: []headerField{
			{"user-agent", ua},
			{"accept", accept},
			{"accept-language", "en-US,en;q=0.5"},
			{"accept-encoding", "gzip, deflate, br, zstd"},
			{"content-type", ""},
			{"content-length", ""},
			{"origin", ""},
			{"referer", ""},
			{"cookie", ""},
			{"upgrade-insecure-requests", "1"},
			{"sec-fetch-dest", "document"},
			{"sec-fetch-mode", "navigate"},
			{"sec-fetch-site", "none"},
			{"sec-fetch-user", "?1"},
			{"priority", "u=0, i"},
			// Gecko's HTTP/2 compressor adds te: trailers; HTTP/1.1
			// requests have none.
			{"te", "trailers"},
		},
		// On HTTP/1.1 Connection comes after Referer, and Priority is
		// sent too.
		h1Headers: []headerField{
			{"User-Agent", ua},
			{"Accept", accept},
			{"Accept-Language", "en-US,en;q=0.5"},
			{"Accept-Encoding", "gzip, deflate, br, zstd"},
			{"Content-Type", ""},
			{"Origin", ""},
			{"Referer", ""},
			{"Connection", ""},
			{"Cookie", ""},
			{"Upgrade-Insecure-Requests", "1"},
			{"Sec-Fetch-Dest", "document"},
			{"Sec-Fetch-Mode", "navigate"},
			{"Sec-Fetch-Site", "none"},
			{"Sec-Fetch-User", "?1"},
			{"Priority", "u=0, i"},
		},
		H2: H2Params{
			Settings: []H2Setting{
				{ID: 1, Val: 65536},  // HEADER_TABLE_SIZE
				{ID: 2, Val: 0},      // ENABLE_PUSH
				{ID: 4, Val: 131072}, // INITIAL_WINDOW_SIZE
				{ID: 5, Val: 16384},  // MAX_FRAME_SIZE
			},
			WindowUpdate: 12517377,
			PseudoOrder:  "mpas",
			Exclusive:    false,
			StreamDep:    0,
			Weight:       41,
			// Firefox 143 and 147 open their first request on stream
			// 3; for 135 this is assumed, not seen.
			FirstStreamID: 3,
		},
		// Gecko's compressor: :path and cookie crumbs under 20 bytes
		// are literals without indexing, authorization is never
		// indexed, entries over half the table are not added, every
		// string is Huffman coded, and a literal names the last table
		// entry with its name.
		hpack: hpackPolicy{
			noIndex:        map[string]bool{":path": true},
			neverIndex:     map[string]bool{"authorization": true},
			shortCookie:    20,
			alwaysHuffman:  true,
			lastNameMatch:  true,
			halfTableLimit: true,
		},
	}
}
