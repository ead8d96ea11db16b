package transport_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/revisit-crawl/revisit/ticketstore"
	"github.com/revisit-crawl/revisit/transport"
)

// A transport with a ticket store: the second connection to the server
// offers the ticket the first one received, and resumes.
func Example() {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	defer srv.Close()

	dir, _ := os.MkdirTemp("", "revisit")
	defer os.RemoveAll(dir)
	store, err := ticketstore.Open(filepath.Join(dir, "tickets.db"), nil)
	if err != nil {
		panic(err)
	}
	defer store.Close()

	tr, err := transport.New(transport.Config{
		Tickets: store,
		RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs,
	})
	if err != nil {
		panic(err)
	}
	defer tr.Close()
	client := &http.Client{Transport: tr}

	for range 2 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		info, _ := transport.Info(resp)
		fmt.Printf("%s via %s, %s: offered=%v resumed=%v\n", body, info.Exit, info.Profile, info.PSKOffered, info.Resumed)
		tr.CloseIdleConnections() // the next request makes a new connection
	}
	// Output:
	// hello via direct, chrome133: offered=false resumed=false
	// hello via direct, chrome133: offered=true resumed=true
}
