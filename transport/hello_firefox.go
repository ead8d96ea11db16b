package transport

import (
	utls "github.com/refraction-networking/utls"
	"github.com/refraction-networking/utls/dicttls"
)

// firefox135Spec returns the ClientHello of Firefox 135 and later on
// Windows and macOS, which is the same on both and unchanged through at
// least 148 (152 drops a cipher suite), with pre_shared_key appended so
// that a ticket can be offered. Each call builds a new spec: utls writes
// key shares, ECH randomness and the ticket into the spec it applies.
//
// With no ticket, and Config.OmitEmptyPsk set, the JA4 is that of real
// Firefox, t13d1717h2_5b57614c22b0_3cbfd9057e0d; with one, 41 is the 18th
// extension and the last. The error is always nil; the signature matches
// the other profiles' spec functions.
//
// Firefox sends no GREASE and never shuffles, so the order below is the
// wire order. The lists, fed to an independent calculator, give the JA4 of
// real Firefox and the JA4_r of CycleTLS's tests [cyc], and the JA3 and
// JA4_o recomputed from them match published ones. Sources, by the tags of
// the project's profile notes:
//
//	ff135  curl-impersonate, bin/curl_firefox135
//	ci286  lexiforest/curl-impersonate#286
//	ff152  a byte-level diff of Firefox 152 against an imitation
//	surf   enetx/surf, profiles/firefox/144.go
//	cyc    CycleTLS's tests
//
// TODO: Firefox builds its X25519 share from the same key as the X25519
// half of the X25519MLKEM768 share [surf, unconfirmed elsewhere]; utls
// v1.8.2 generates two keys, so the two 32-byte values differ where
// Firefox's would be equal. No fingerprint hash sees it; a server comparing
// the shares could.
//
// TODO: utls keeps the private key of only the first classical share
// (X25519). A TLS 1.3 server that supports neither X25519MLKEM768 nor
// X25519 and picks the P-256 share fails the handshake with "invalid server
// key share", where Firefox would succeed.
func firefox135Spec() (utls.ClientHelloSpec, error) {
	return utls.ClientHelloSpec{
		TLSVersMin: utls.VersionTLS12,
		TLSVersMax: utls.VersionTLS13,
		// [ff135, ci286]. Firefox 152 drops 0xc009 (t13d1617) [ci286].
		CipherSuites: []uint16{
			utls.TLS_AES_128_GCM_SHA256,
			utls.TLS_CHACHA20_POLY1305_SHA256,
			utls.TLS_AES_256_GCM_SHA384,
			utls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			utls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			utls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,
			utls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,
			utls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			utls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			utls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
			utls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
			utls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
			utls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
			utls.TLS_RSA_WITH_AES_128_GCM_SHA256,
			utls.TLS_RSA_WITH_AES_256_GCM_SHA384,
			utls.TLS_RSA_WITH_AES_128_CBC_SHA,
			utls.TLS_RSA_WITH_AES_256_CBC_SHA,
		},
		CompressionMethods: []uint8{0}, // null only
		Extensions:         firefox135Extensions(),
	}, nil
}

// firefox135Extensions returns the extensions of firefox135Spec in wire
// order: 0, 23, 65281, 10, 11, 35, 16, 5, 34, 18, 51, 43, 13, 45, 28, 27,
// 65037 [ff135, ci286], then 41 when a ticket is offered.
func firefox135Extensions() []utls.TLSExtension {
	return []utls.TLSExtension{
		&utls.SNIExtension{},
		&utls.ExtendedMasterSecretExtension{},
		&utls.RenegotiationInfoExtension{Renegotiation: utls.RenegotiateOnceAsClient},
		&utls.SupportedCurvesExtension{Curves: []utls.CurveID{
			utls.X25519MLKEM768,
			utls.X25519,
			utls.CurveP256,
			utls.CurveP384,
			utls.CurveP521,
			256, // ffdhe2048
			257, // ffdhe3072
		}},
		&utls.SupportedPointsExtension{SupportedPoints: []uint8{0}}, // uncompressed
		// A private window leaves out session_ticket and psk modes
		// [surf]; this is a normal window.
		&utls.SessionTicketExtension{},
		&utls.ALPNExtension{AlpnProtocols: []string{"h2", "http/1.1"}},
		&utls.StatusRequestExtension{},
		&utls.FakeDelegatedCredentialsExtension{
			SupportedSignatureAlgorithms: []utls.SignatureScheme{
				utls.ECDSAWithP256AndSHA256,
				utls.ECDSAWithP384AndSHA384,
				utls.ECDSAWithP521AndSHA512,
				utls.ECDSAWithSHA1,
			},
		},
		// utls's HelloFirefox_120 has neither this extension (18) nor
		// compress_certificate (27); Firefox 135 sends both.
		&utls.SCTExtension{},
		// Three shares, the post-quantum hybrid first.
		&utls.KeyShareExtension{KeyShares: []utls.KeyShare{
			{Group: utls.X25519MLKEM768},
			{Group: utls.X25519},
			{Group: utls.CurveP256},
		}},
		&utls.SupportedVersionsExtension{Versions: []uint16{
			utls.VersionTLS13,
			utls.VersionTLS12,
		}},
		&utls.SignatureAlgorithmsExtension{
			SupportedSignatureAlgorithms: []utls.SignatureScheme{
				utls.ECDSAWithP256AndSHA256,
				utls.ECDSAWithP384AndSHA384,
				utls.ECDSAWithP521AndSHA512,
				utls.PSSWithSHA256,
				utls.PSSWithSHA384,
				utls.PSSWithSHA512,
				utls.PKCS1WithSHA256,
				utls.PKCS1WithSHA384,
				utls.PKCS1WithSHA512,
				utls.ECDSAWithSHA1,
				utls.PKCS1WithSHA1,
			},
		},
		&utls.PSKKeyExchangeModesExtension{Modes: []uint8{utls.PskModeDHE}},
		// 16385 (0x4001) is the TLS 1.3 maximum plaintext plus the
		// content type byte. Imitations that write 4001 in decimal send
		// 0x0fa1 [ff152].
		&utls.FakeRecordSizeLimitExtension{Limit: 0x4001},
		&utls.UtlsCompressCertExtension{Algorithms: []utls.CertCompressionAlgo{
			utls.CertCompressionZlib,
			utls.CertCompressionBrotli,
			utls.CertCompressionZstd,
		}},
		firefoxGREASEECH(),
		&utls.UtlsPreSharedKeyExtension{},
	}
}

// firefoxGREASEECH returns Firefox's ECH GREASE extension. Its body is
// always 281 bytes [ff152, surf]: type (1), cipher suite (4), config id
// (1), a 32-byte X25519 encapsulated key with its length (34) and the
// payload with its length (2 + 239). utls takes the payload length before
// the AEAD tag, and both candidate AEADs add 16 bytes, hence 223.
func firefoxGREASEECH() *utls.GREASEEncryptedClientHelloExtension {
	return &utls.GREASEEncryptedClientHelloExtension{
		CandidateCipherSuites: []utls.HPKESymmetricCipherSuite{
			{KdfId: dicttls.HKDF_SHA256, AeadId: dicttls.AEAD_AES_128_GCM},
			{KdfId: dicttls.HKDF_SHA256, AeadId: dicttls.AEAD_CHACHA20_POLY1305},
		},
		CandidatePayloadLens: []uint16{223},
	}
}
