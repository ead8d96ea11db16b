package transport

// safari18 is Safari 18.5 on macOS. Its ClientHello is that of Safari
// 18.0 to 18.6; its HTTP/2 SETTINGS (with 9, no RFC 7540 priorities) are
// those of 18.4 and later, hence the 18.5 User-Agent. Headers and HTTP/2
// parameters are those PROFILES.md gives from curl-impersonate's
// safari184 target and a Safari 18.6 capture.
//
// Not known from any capture at hand, and chosen here: the places of
// referer and cookie, the HTTP/1.1 header order (taken to be the HTTP/2
// one), the first stream ID (1) and the HPACK habits (index every field,
// Huffman when shorter).
func safari18() *Profile {
	const ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 " +
		"(KHTML, like Gecko) Version/18.5 Safari/605.1.15"
	const accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	return &Profile{
		Name:      "safari18",
		Aliases:   []string{"safari"},
		Claims:    "Apple Safari 18.5 on macOS",
		UserAgent: ua,
		JA4:       "t13d2014h2_a09f3c656075_e42f34c56612",
		// With a ticket short enough to leave room for padding, 41 is a
		// 15th extension; with a ticket of about 150 bytes or more the
		// hello needs no padding and has 14 again
		// (t13d2014h2_a09f3c656075_cfa2fb88e388). The value below is
		// the short-ticket one, which local Go servers give.
		JA4Revisit: "t13d2015h2_a09f3c656075_0558b81db3bf",
		spec:       safari18Spec,
		headers: []headerField{
			{"sec-fetch-dest", "document"},
			{"user-agent", ua},
			{"accept", accept},
			{"referer", ""},
			{"sec-fetch-site", "none"},
			{"sec-fetch-mode", "navigate"},
			{"accept-language", "en-US,en;q=0.9"},
			{"priority", "u=0, i"},
			{"accept-encoding", "gzip, deflate, br"},
			{"cookie", ""},
		},
		h1Headers: []headerField{
			{"Connection", ""},
			{"Sec-Fetch-Dest", "document"},
			{"User-Agent", ua},
			{"Accept", accept},
			{"Referer", ""},
			{"Sec-Fetch-Site", "none"},
			{"Sec-Fetch-Mode", "navigate"},
			{"Accept-Language", "en-US,en;q=0.9"},
			{"Priority", "u=0, i"},
			{"Accept-Encoding", "gzip, deflate, br"},
			{"Cookie", ""},
		},
		H2: H2Params{
			Settings: []H2Setting{
				{ID: 2, Val: 0},       // ENABLE_PUSH
				{ID: 3, Val: 100},     // MAX_CONCURRENT_STREAMS
				{ID: 4, Val: 2097152}, // INITIAL_WINDOW_SIZE
				{ID: 9, Val: 1},       // NO_RFC7540_PRIORITIES
			},
			WindowUpdate: 10420225,
			PseudoOrder:  "msap",
			Exclusive:    false,
			StreamDep:    0,
			Weight:       255,
		},
	}
}
