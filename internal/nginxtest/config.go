package nginxtest

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

// config is what the configuration template needs.
type config struct {
	Dir       string // the server's private directory
	Root      string
	Listen    string
	CertFile  string
	KeyFile   string
	TicketKey string
	Protocols string
	HTTP2     bool
	// HTTP2On selects the "http2 on;" directive (nginx 1.25.1 and later)
	// over the "http2" parameter of listen, which those versions deprecate.
	HTTP2On              bool
	MaxConcurrentStreams int
	KeepaliveRequests    int
	Statuses             []int
}

// statuses are the codes served under /status/. return takes no variable
// code, so each gets its own location.
var statuses = []int{200, 204, 400, 403, 404, 410, 429, 500, 502, 503}

// logFormat is the access log format described in the package doc. The
// \t are turned into tabs by nginx's configuration parser.
const logFormat = `$msec\t$remote_addr\t$remote_port\t$connection\t$connection_requests\t` +
	`$ssl_protocol\t$ssl_session_reused\t$server_protocol\t$request_method\t` +
	`$request_uri\t$status\t$bytes_sent\t$body_bytes_sent\t$request_length\t` +
	`$request_time\t$request`

// The template quotes every path with q, as a path may hold spaces.
var confTemplate = template.Must(template.New("nginx.conf").Funcs(template.FuncMap{
	"q": quote,
}).Parse(`# Written by nginxtest at every start.
# One process under the test's user: no workers that would need to be
# given access to the temporary directory, nothing left running if the
# test binary dies.
master_process off;
pid {{q .Dir "nginx.pid"}};
error_log {{q .Dir "error.log"}} info;

events {
    worker_connections 512;
}

http {
    types {
        text/html html;
        text/plain txt;
        text/css css;
        application/javascript js;
        application/json json;
        image/png png;
    }
    default_type application/octet-stream;

    log_format revisit escape=default '` + logFormat + `';
    access_log {{q .Dir "access.log"}} revisit;

    # The compiled-in defaults are under /var, which a test may not write.
    client_body_temp_path {{q .Dir "tmp/client_body"}};
    proxy_temp_path {{q .Dir "tmp/proxy"}};
    fastcgi_temp_path {{q .Dir "tmp/fastcgi"}};
    uwsgi_temp_path {{q .Dir "tmp/uwsgi"}};
    scgi_temp_path {{q .Dir "tmp/scgi"}};
{{- if .KeepaliveRequests}}
    keepalive_requests {{.KeepaliveRequests}};
{{- end}}
{{- if .MaxConcurrentStreams}}
    http2_max_concurrent_streams {{.MaxConcurrentStreams}};
{{- end}}

    server {
        listen {{.Listen}} ssl{{if and .HTTP2 (not .HTTP2On)}} http2{{end}};
{{- if and .HTTP2 .HTTP2On}}
        http2 on;
{{- end}}
        ssl_certificate {{q .CertFile}};
        ssl_certificate_key {{q .KeyFile}};
        ssl_protocols {{.Protocols}};
        ssl_early_data off;
        # Tickets only: with the cache off a resumed session can only have
        # come from a ticket, and the key file makes tickets outlive a
        # restart.
        ssl_session_cache off;
        ssl_session_tickets on;
        ssl_session_ticket_key {{q .TicketKey}};

        root {{q .Root}};

        location /upload/ {
            dav_methods PUT DELETE;
            create_full_put_path on;
            client_max_body_size 0;
        }
{{- range .Statuses}}
        location = /status/{{.}} {
            return {{.}};
        }
{{- end}}
    }
}
`))

// quote joins the parts with "/" and quotes the result for nginx's
// configuration parser.
func quote(parts ...string) string {
	s := strings.Join(parts, "/")
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	return `"` + s + `"`
}

// writeConfig renders c into path.
func writeConfig(path string, c *config) error {
	var b strings.Builder
	if err := confTemplate.Execute(&b, c); err != nil {
		return fmt.Errorf("nginxtest: render config: %w", err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("nginxtest: write config: %w", err)
	}
	return nil
}

var versionRE = regexp.MustCompile(`nginx/(\d+)\.(\d+)\.(\d+)`)

// version runs bin -v and returns its version as "1.22.1" and as a
// number that compares like it (1022001).
func version(bin string) (string, int, error) {
	out, err := exec.Command(bin, "-v").CombinedOutput()
	if err != nil {
		return "", 0, fmt.Errorf("nginxtest: %s -v: %w: %s", bin, err, out)
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return "", 0, fmt.Errorf("nginxtest: %s -v: no version in %q", bin, out)
	}
	n := 0
	for _, part := range m[1:] {
		d, _ := strconv.Atoi(string(part))
		n = n*1000 + d
	}
	return fmt.Sprintf("%s.%s.%s", m[1], m[2], m[3]), n, nil
}
