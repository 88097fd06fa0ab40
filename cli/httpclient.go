package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// maxResponse caps every response body the command line reads.
const maxResponse = 16 << 20

// client sends the requests of one invocation, with its correlation id and --debug logging.
type client struct {
	a  *app
	hc *http.Client
}

// newClient returns a client trusting the system's roots plus caFile's certificates.
func (a *app) newClient(caFile string) (*client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := loadCAFile(caFile)
		if err != nil {
			return nil, err
		}
		tlsConf.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	tr.Proxy = nil
	if a.processEnv {
		// Run's environment is a map, not the process's, so only the real command line
		// honours HTTPS_PROXY and NO_PROXY.
		tr.Proxy = http.ProxyFromEnvironment
	}
	return &client{a: a, hc: &http.Client{
		Transport: tr,
		Timeout:   60 * time.Second,
		// The APIs never redirect; following one could send a token or a form elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

func loadCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, failf("cannot read the CA file: %v", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, failf("%s holds no PEM certificate; pass the server's ca.pem with --ca-file", path)
	}
	return pool, nil
}

// do sends req and returns the response with its body read (capped). Transport failures come
// back explained in the user's terms.
func (c *client) do(req *http.Request) (*http.Response, []byte, error) {
	req.Header.Set("x-ms-correlation-request-id", c.a.correlationID)
	req.Header.Set("User-Agent", "latch-cli")
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	c.a.debugf("Request: %s %s", req.Method, redactURL(req.URL))
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, explainNetError(err, req.URL)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, nil, explainNetError(err, req.URL)
	}
	c.a.debugf("Response: %d %s (x-ms-correlation-request-id: %s)", resp.StatusCode, redactURL(req.URL), c.correlation(resp))
	return resp, body, nil
}

// correlation is the server's correlation id for resp, falling back to the one we sent.
func (c *client) correlation(resp *http.Response) string {
	if id := resp.Header.Get("x-ms-correlation-request-id"); id != "" {
		return id
	}
	return c.a.correlationID
}

// redactURL drops query values that could be secrets in a debug line (codes in a redirect).
func redactURL(u *url.URL) string {
	q := u.Query()
	for _, k := range []string{"code", "client_secret", "access_token", "refresh_token"} {
		if q.Has(k) {
			q.Set(k, "REDACTED")
		}
	}
	v := *u
	v.RawQuery = q.Encode()
	if u.RawQuery == "" {
		v.RawQuery = ""
	}
	return v.String()
}

// call sends a JSON request to the ARM- or Graph-shaped API with a bearer token and decodes
// a JSON answer into out (when out is not nil). Error answers come back as *apiError.
func (c *client) call(ctx context.Context, method, rawURL, token string, in, out any) error {
	resp, respBody, err := c.send(ctx, method, rawURL, token, in)
	if err != nil {
		return err
	}
	return decodeAnswer(resp, respBody, out)
}

// send is call without the decoding, for callers that need the answer's status and headers
// (long-running operations). A non-2xx answer is an *apiError.
func (c *client) send(ctx context.Context, method, rawURL, token string, in any) (*http.Response, []byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, nil, failf("invalid request URL %s: %v", rawURL, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, respBody, err := c.do(req)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode/100 != 2 {
		return resp, respBody, c.apiErrorFrom(resp, respBody)
	}
	return resp, respBody, nil
}

// decodeAnswer decodes a JSON answer into out; an empty body leaves out alone.
func decodeAnswer(resp *http.Response, body []byte, out any) error {
	if out == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return failf("the server's answer to %s %s is not the JSON expected: %v", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}

// apiErrorFrom reads {"error":{"code","message"}}, or makes the best of another body.
func (c *client) apiErrorFrom(resp *http.Response, body []byte) error {
	var shape struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	e := &apiError{Status: resp.StatusCode, CorrelationID: c.correlation(resp)}
	if json.Unmarshal(body, &shape) == nil && shape.Error.Message != "" {
		e.Code, e.Message = shape.Error.Code, shape.Error.Message
		return e
	}
	e.Code = strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "")
	e.Message = fmt.Sprintf("The server answered %s.", resp.Status)
	if s := strings.TrimSpace(string(body)); s != "" && len(s) < 300 && !strings.HasPrefix(s, "<") {
		e.Message += " " + s
	}
	return e
}

// explainNetError says what went wrong reaching the server in terms a person can act on.
func explainNetError(err error, u *url.URL) error {
	host := u.Host
	var (
		unknownCA   x509.UnknownAuthorityError
		badHost     x509.HostnameError
		invalidCert x509.CertificateInvalidError
		notTLS      tls.RecordHeaderError
		dnsErr      *net.DNSError
	)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded) && !isTimeout(err):
		return err
	case errors.As(err, &unknownCA):
		return failf("cannot verify the server's certificate for %s (signed by an unknown authority): pass --ca-file with the server's ca.pem.", host)
	case errors.As(err, &badHost):
		return failf("the server's certificate is not valid for %s (%v); check --server.", host, badHost.Error())
	case errors.As(err, &invalidCert):
		return failf("the server's certificate for %s is not valid: %v", host, invalidCert.Error())
	case errors.As(err, &notTLS):
		return failf("%s did not answer with TLS; check that --server names the Latch server (https://…).", host)
	case errors.As(err, &dnsErr):
		return failf("cannot find the host %s: %v. Check --server.", dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return failf("cannot connect to %s: connection refused. Is the server running, and is --server right?", host)
	case isTimeout(err):
		return failf("%s did not answer in time; check the network and --server.", host)
	}
	return failf("cannot reach %s: %v", host, err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
