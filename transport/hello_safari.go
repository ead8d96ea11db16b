package transport

import utls "github.com/refraction-networking/utls"

// safari18Spec returns the ClientHello of Safari 18.0 to 18.6, which is the
// same on macOS and iOS, with pre_shared_key appended so that a ticket can
// be offered. Each call builds a new spec: utls writes GREASE values, key
// shares, padding and the ticket into the spec it applies.
//
// It is utls's HelloSafari_16_0 without signature algorithm 0x0203
// (ECDSA-SHA1), which turns the JA4 of that preset,
// t13d2014h2_a09f3c656075_14788d8d241b, into real Safari 18's,
// t13d2014h2_a09f3c656075_e42f34c56612. With a ticket, 41 is the last
// extension, after padding, since RFC 8446 wants pre_shared_key last. The
// error is always nil; the signature matches the other profiles' spec
// functions.
//
// Safari keeps a fixed order with GREASE first and second to last before
// padding. The lists, fed to an independent calculator, give the JA4 of
// real Safari 18, and the JA3, JA3N and JA4_o recomputed from them match
// published ones. Sources, by the tags of the project's profile notes:
//
//	cap186  a capture note of Safari 18.6
//	ci148   lexiforest/curl-impersonate#148
//	utls    utls v1.8.2, u_parrots.go, HelloSafari_16_0
func safari18Spec() (utls.ClientHelloSpec, error) {
	return utls.ClientHelloSpec{
		// Safari still offers TLS 1.0 and 1.1 in supported_versions.
		TLSVersMin: utls.VersionTLS10,
		TLSVersMax: utls.VersionTLS13,
		CipherSuites: []uint16{
			utls.GREASE_PLACEHOLDER,
			utls.TLS_AES_128_GCM_SHA256,
			utls.TLS_AES_256_GCM_SHA384,
			utls.TLS_CHACHA20_POLY1305_SHA256,
			utls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			utls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			utls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,
			utls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			utls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			utls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,
			utls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
			utls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
			utls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
			utls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
			utls.TLS_RSA_WITH_AES_256_GCM_SHA384,
			utls.TLS_RSA_WITH_AES_128_GCM_SHA256,
			utls.TLS_RSA_WITH_AES_256_CBC_SHA,
			utls.TLS_RSA_WITH_AES_128_CBC_SHA,
			// Safari 18 still offers the three 3DES suites.
			utls.FAKE_TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA,
			utls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
			utls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
		},
		CompressionMethods: []uint8{0}, // null only
		Extensions:         safari18Extensions(),
	}, nil
}

// safari18Extensions returns the extensions of safari18Spec in wire order:
// GREASE, 0, 23, 65281, 10, 11, 16, 5, 13, 18, 51, 45, 43, 27, GREASE, 21
// [cap186, ci148], then 41 when a ticket is offered. There is no
// session_ticket, ECH, ALPS or post-quantum share.
func safari18Extensions() []utls.TLSExtension {
	return []utls.TLSExtension{
		&utls.UtlsGREASEExtension{},
		&utls.SNIExtension{},
		&utls.ExtendedMasterSecretExtension{},
		&utls.RenegotiationInfoExtension{Renegotiation: utls.RenegotiateOnceAsClient},
		&utls.SupportedCurvesExtension{Curves: []utls.CurveID{
			utls.GREASE_PLACEHOLDER,
			utls.X25519,
			utls.CurveP256,
			utls.CurveP384,
			utls.CurveP521,
		}},
		&utls.SupportedPointsExtension{SupportedPoints: []uint8{0}}, // uncompressed
		&utls.ALPNExtension{AlpnProtocols: []string{"h2", "http/1.1"}},
		&utls.StatusRequestExtension{},
		&utls.SignatureAlgorithmsExtension{
			SupportedSignatureAlgorithms: []utls.SignatureScheme{
				utls.ECDSAWithP256AndSHA256,
				utls.PSSWithSHA256,
				utls.PKCS1WithSHA256,
				utls.ECDSAWithP384AndSHA384,
				// Safari 16 sent ECDSAWithSHA1 (0x0203) here; with
				// it the JA4 would be Safari 16's [utls].
				utls.PSSWithSHA384,
				// Safari sends 0x0805 twice; the JA4 of Safari 18
				// needs both.
				utls.PSSWithSHA384,
				utls.PKCS1WithSHA384,
				utls.PSSWithSHA512,
				utls.PKCS1WithSHA512,
				utls.PKCS1WithSHA1,
			},
		},
		&utls.SCTExtension{},
		// The GREASE share holds a single zero byte, as BoringSSL's does.
		&utls.KeyShareExtension{KeyShares: []utls.KeyShare{
			{Group: utls.GREASE_PLACEHOLDER, Data: []byte{0}},
			{Group: utls.X25519},
		}},
		&utls.PSKKeyExchangeModesExtension{Modes: []uint8{utls.PskModeDHE}},
		&utls.SupportedVersionsExtension{Versions: []uint16{
			utls.GREASE_PLACEHOLDER,
			utls.VersionTLS13,
			utls.VersionTLS12,
			utls.VersionTLS11,
			utls.VersionTLS10,
		}},
		&utls.UtlsCompressCertExtension{Algorithms: []utls.CertCompressionAlgo{
			utls.CertCompressionZlib,
		}},
		&utls.UtlsGREASEExtension{},
		// Pads the handshake message to 512 bytes when it would
		// otherwise be 256 to 511 bytes long. utls sizes it after
		// counting every other extension, the pre_shared_key below
		// included, so a hello with a ticket is padded only if it still
		// falls short.
		&utls.UtlsPaddingExtension{GetPaddingLen: utls.BoringPaddingStyle},
		&utls.UtlsPreSharedKeyExtension{},
	}
}
