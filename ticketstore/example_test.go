package ticketstore_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	utls "github.com/refraction-networking/utls"

	"github.com/revisit-crawl/revisit/ticketstore"
)

// A partition is named by the exit's full identity but listed by its
// label, which leaves the password out.
func Example() {
	dir, err := os.MkdirTemp("", "ticketstore")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	store, err := ticketstore.Open(filepath.Join(dir, "tickets.db"), nil)
	if err != nil {
		panic(err)
	}
	defer store.Close()

	exit, err := ticketstore.ParseExit("socks5://alice:secret@127.0.0.1:1080")
	if err != nil {
		panic(err)
	}
	part, err := store.Partition(exit, "chrome")
	if err != nil {
		panic(err)
	}
	cache, err := part.Cache("example.com:443")
	if err != nil {
		panic(err)
	}
	fmt.Println("ticket to offer:", cache.Load())

	list, err := store.List()
	if err != nil {
		panic(err)
	}
	for _, ps := range list {
		fmt.Println(ps.Label, ps.Profile, ps.Tickets)
	}
	// Output:
	// ticket to offer: false
	// socks5://alice@127.0.0.1:1080 chrome 0
}

// A connection offers the ticket an earlier one received, as Chrome 133
// does: its ClientHello with the pre_shared_key extension appended.
func ExamplePartition_Cache() {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer srv.Close()
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs

	dir, _ := os.MkdirTemp("", "ticketstore")
	defer os.RemoveAll(dir)
	store, err := ticketstore.Open(filepath.Join(dir, "tickets.db"), nil)
	if err != nil {
		panic(err)
	}
	defer store.Close()
	part, err := store.Partition(ticketstore.Direct, "chrome")
	if err != nil {
		panic(err)
	}

	visit := func() {
		addr := srv.Listener.Addr().String()
		_, port, _ := net.SplitHostPort(addr)
		cache, err := part.Cache(net.JoinHostPort("example.com", port))
		if err != nil {
			panic(err)
		}
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		cfg := &utls.Config{
			ServerName:         "example.com",
			RootCAs:            roots,
			ClientSessionCache: cache,
			OmitEmptyPsk:       true,
			NextProtos:         []string{"http/1.1"},
		}
		uc := utls.UClient(conn, cfg, utls.HelloCustom)
		spec, _ := utls.UTLSIdToSpec(utls.HelloChrome_133)
		spec.Extensions = append(spec.Extensions, &utls.UtlsPreSharedKeyExtension{})
		if err := uc.ApplyPreset(&spec); err != nil {
			panic(err)
		}
		io.WriteString(uc, "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
		io.ReadAll(uc) // tickets arrive as the response is read
		fmt.Printf("offered=%v resumed=%v\n", cache.Offered(), uc.ConnectionState().DidResume)
	}
	visit()
	visit()
	// Output:
	// offered=false resumed=false
	// offered=true resumed=true
}

// A cookie jar keeps its cookies in the partition of the exit and profile
// that received them; the store keeps each record under the jar's key and
// does not read its data.
func ExamplePartition_SaveCookie() {
	dir, err := os.MkdirTemp("", "ticketstore")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	store, err := ticketstore.Open(filepath.Join(dir, "tickets.db"), nil)
	if err != nil {
		panic(err)
	}
	defer store.Close()
	part, err := store.Partition(ticketstore.Direct, "chrome")
	if err != nil {
		panic(err)
	}

	err = part.SaveCookie(ticketstore.CookieRecord{
		Key:     "example.com;/;sid",
		Data:    []byte("sid=1234"),
		Expires: time.Now().Add(time.Hour),
	})
	if err != nil {
		panic(err)
	}
	firefox, err := store.Partition(ticketstore.Direct, "firefox")
	if err != nil {
		panic(err)
	}
	for _, p := range []*ticketstore.Partition{part, firefox} {
		recs, err := p.Cookies()
		if err != nil {
			panic(err)
		}
		fmt.Println(p.Profile(), len(recs))
		for _, r := range recs {
			fmt.Printf("  %s: %s\n", r.Key, r.Data)
		}
	}
	// Output:
	// chrome 1
	//   example.com;/;sid: sid=1234
	// firefox 0
}

// Processes that open the same Redis database share one store: each names
// a partition as the others do, and takes a ticket none of them has used.
// (Compiled only: it needs a Redis server.)
func ExampleOpenRedis() {
	b, err := ticketstore.OpenRedis("redis://127.0.0.1:6379/0", &ticketstore.Options{DialTimeout: time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	store, err := ticketstore.New(b, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	part, err := store.Partition(ticketstore.Direct, "chrome")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(part.Label())
}
