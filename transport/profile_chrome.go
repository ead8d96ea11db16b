package transport

import utls "github.com/refraction-networking/utls"

// chrome133 is Chrome 133 on Windows. Its ClientHello is utls's
// HelloChrome_133 with pre_shared_key appended, whose JA4 is real Chrome's:
// t13d1516h2_8daaf6152771_d8a2da3f94cd on a first visit and
// t13d1517h2_8daaf6152771_b6f405a00624 with a ticket. Headers and HTTP/2
// parameters are those of Chrome 133 captures (navigation request).
func chrome133() *Profile {
	const ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 " +
		"(KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36"
	const secCHUA = `"Not(A:Brand";v="99", "Google Chrome";v="133", "Chromium";v="133"`
	const accept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif," +
		"image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
	return &Profile{
		Name:       "chrome133",
		Aliases:    []string{"chrome"},
		Claims:     "Google Chrome 133 on Windows 10 x64",
		UserAgent:  ua,
		JA4:        "t13d1516h2_8daaf6152771_d8a2da3f94cd",
		JA4Revisit: "t13d1517h2_8daaf6152771_b6f405a00624",
		spec:       withPSK(utls.HelloChrome_133),
		// Names with no value have a place in the order but are sent
		// only when the request has them. The places of content-length,
		// cache-control, origin and content-type (form posts) are from
		// Chrome captures of POST requests; the rest is the navigation
		// request of PROFILES.md.
		headers: []headerField{
			{"content-length", ""},
			{"cache-control", ""},
			{"sec-ch-ua", secCHUA},
			{"sec-ch-ua-mobile", "?0"},
			{"sec-ch-ua-platform", `"Windows"`},
			{"origin", ""},
			{"content-type", ""},
			{"upgrade-insecure-requests", "1"},
			{"user-agent", ua},
			{"accept", accept},
			{"sec-fetch-site", "none"},
			{"sec-fetch-mode", "navigate"},
			{"sec-fetch-user", "?1"},
			{"sec-fetch-dest", "document"},
			{"referer", ""},
			{"accept-encoding", "gzip, deflate, br, zstd"},
			{"accept-language", "en-US,en;q=0.9"},
			{"cookie", ""},
			{"priority", "u=0, i"},
		},
		// On HTTP/1.1 Chrome sends the same order after Host and
		// Connection (which the transport sets), with the client hints in lower case, the rest in
		// title case, and no Priority.
		h1Headers: []headerField{
			{"Connection", ""},
			{"Cache-Control", ""},
			{"sec-ch-ua", secCHUA},
			{"sec-ch-ua-mobile", "?0"},
			{"sec-ch-ua-platform", `"Windows"`},
			{"Origin", ""},
			{"Content-Type", ""},
			{"Upgrade-Insecure-Requests", "1"},
			{"User-Agent", ua},
			{"Accept", accept},
			{"Sec-Fetch-Site", "none"},
			{"Sec-Fetch-Mode", "navigate"},
			{"Sec-Fetch-User", "?1"},
			{"Sec-Fetch-Dest", "document"},
			{"Referer", ""},
			{"Accept-Encoding", "gzip, deflate, br, zstd"},
			{"Accept-Language", "en-US,en;q=0.9"},
			{"Cookie", ""},
		},
		H2: H2Params{
			Settings: []H2Setting{
				{ID: 1, Val: 65536},   // HEADER_TABLE_SIZE
				{ID: 2, Val: 0},       // ENABLE_PUSH
				{ID: 4, Val: 6291456}, // INITIAL_WINDOW_SIZE
				{ID: 6, Val: 262144},  // MAX_HEADER_LIST_SIZE
			},
			WindowUpdate: 15663105,
			PseudoOrder:  "masp",
			Exclusive:    true,
			StreamDep:    0,
			Weight:       255,
		},
		// Chrome's HPACK encoder (quiche's default policy) adds every
		// regular field to the dynamic table but, of the pseudo-header
		// fields, only :authority; strings are Huffman coded when that
		// is shorter.
		hpack: hpackPolicy{indexPseudo: map[string]bool{":authority": true}},
	}
}
