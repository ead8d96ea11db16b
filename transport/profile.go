package transport

import (
	"fmt"
	"slices"
	"strings"

	utls "github.com/refraction-networking/utls"
)

// Profile is a browser fingerprint: the ClientHello, the HTTP/2 connection
// parameters and the default request headers of one browser version, which
// must agree with each other. Profiles are values made by the functions of
// this package; [Lookup] finds one by name.
type Profile struct {
	// Name identifies the profile and its ticket partitions, for example
	// "chrome133".
	Name string
	// Aliases are other names Lookup accepts, for example "chrome".
	Aliases []string
	// Claims says what the profile claims to be, for people.
	Claims string
	// UserAgent is the User-Agent header the profile sends.
	UserAgent string
	// JA4 and JA4Revisit are the real browser's JA4 fingerprints, on a
	// first visit and when offering a ticket; the profile's ClientHello
	// is tested to produce them.
	JA4, JA4Revisit string

	// spec returns a fresh ClientHello spec whose last extension is
	// pre_shared_key. utls writes into specs, so each connection gets its
	// own.
	spec func() (utls.ClientHelloSpec, error)

	// headers are the default request headers in the order the browser
	// sends them on HTTP/2, names in lower case.
	headers []headerField
	// h1Headers are the same for HTTP/1.1, in that protocol's order and
	// case. Host and Connection are written by the transport.
	h1Headers []headerField

	// H2 describes the browser's HTTP/2 connection preface.
	H2 H2Params

	// hpack is how the browser encodes header fields on HTTP/2.
	hpack hpackPolicy
}

// H2Params are the HTTP/2 connection parameters a browser sends: its
// SETTINGS in order, the connection window increment, the pseudo-header
// order and the HEADERS priority. Together they make the browser's Akamai
// HTTP/2 fingerprint.
type H2Params struct {
	Settings     []H2Setting
	WindowUpdate uint32
	// PseudoOrder is the order of :method, :authority, :scheme and :path
	// as their initials, for example "masp".
	PseudoOrder string
	// Exclusive, StreamDep and Weight are the HEADERS priority fields;
	// Weight is the wire value (one less than the weight).
	Exclusive bool
	StreamDep uint32
	Weight    uint8
	// FirstStreamID is the ID of the connection's first request stream;
	// zero means 1. Later streams count up by two from it.
	FirstStreamID uint32
}

// H2Setting is one HTTP/2 SETTINGS parameter.
type H2Setting struct {
	ID  uint16
	Val uint32
}

// Akamai returns the parameters in the form of the Akamai HTTP/2
// fingerprint, "SETTINGS|WINDOW_UPDATE|PRIORITY|pseudo-headers", with no
// PRIORITY frames (0).
func (p H2Params) Akamai() string {
	var settings []string
	for _, s := range p.Settings {
		settings = append(settings, fmt.Sprintf("%d:%d", s.ID, s.Val))
	}
	return fmt.Sprintf("%s|%d|0|%s", strings.Join(settings, ";"), p.WindowUpdate,
		strings.Join(strings.Split(p.PseudoOrder, ""), ","))
}

type headerField struct {
	name, value string
}

// ClientHelloSpec returns a fresh copy of the profile's ClientHello spec,
// with pre_shared_key as its last extension. On a connection with no
// ticket to offer, utls leaves that extension out (Config.OmitEmptyPsk).
func (p *Profile) ClientHelloSpec() (utls.ClientHelloSpec, error) {
	return p.spec()
}

// Headers returns the profile's default request headers in the order the
// browser sends them over HTTP/2, as name and value pairs.
func (p *Profile) Headers() [][2]string {
	out := make([][2]string, len(p.headers))
	for i, h := range p.headers {
		out[i] = [2]string{h.name, h.value}
	}
	return out
}

// registry lists the profiles, the default first.
var registry = []*Profile{chrome133(), firefox135(), safari18()}

// Default returns the default profile, Chrome 133.
func Default() *Profile { return registry[0] }

// Profiles returns every profile, the default first.
func Profiles() []*Profile { return slices.Clone(registry) }

// Lookup returns the profile with the given name or alias, ignoring case.
func Lookup(name string) (*Profile, error) {
	for _, p := range registry {
		if strings.EqualFold(p.Name, name) || slices.ContainsFunc(p.Aliases, func(a string) bool {
			return strings.EqualFold(a, name)
		}) {
			return p, nil
		}
	}
	var names []string
	for _, p := range registry {
		names = append(names, p.Name)
	}
	return nil, fmt.Errorf("%w %q (have %s)", ErrUnknownProfile, name, strings.Join(names, ", "))
}

// withPSK returns a spec function for a utls preset with the
// pre_shared_key extension appended, the recipe that makes utls's current
// browser presets resume at all: the presets carry no such extension.
func withPSK(id utls.ClientHelloID) func() (utls.ClientHelloSpec, error) {
	return func() (utls.ClientHelloSpec, error) {
		spec, err := utls.UTLSIdToSpec(id)
		if err != nil {
			return spec, fmt.Errorf("transport: spec %s: %w", id.Str(), err)
		}
		spec.Extensions = append(spec.Extensions, &utls.UtlsPreSharedKeyExtension{})
		return spec, nil
	}
}
