package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// randomToken returns n random bytes, base64url encoded: PKCE verifiers, state, nonce.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pkceChallenge is the S256 code challenge of verifier (RFC 7636).
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authRequest is one browser sign-in in progress.
type authRequest struct {
	ep                     *endpoints
	redirectURI            string
	state, nonce, verifier string
	scope                  string
	hints                  signInHints
}

// signInHints are what a step-up adds to an interactive sign-in (oauth_stepup.go): the claims
// challenge the token service answered with, so the server's pages offer only the methods that
// meet it, and the signed-in account, so the person does not pick another one. Zero for
// "latch login".
type signInHints struct {
	claims, loginHint string
}

// add puts the hints that are set into q, as Entra clients send them.
func (h signInHints) add(q url.Values) {
	if h.claims != "" {
		q.Set("claims", h.claims)
	}
	if h.loginHint != "" {
		q.Set("login_hint", h.loginHint)
	}
}

func newAuthRequest(ep *endpoints, port int, scope string, hints signInHints) *authRequest {
	return &authRequest{
		hints:       hints,
		ep:          ep,
		redirectURI: fmt.Sprintf("http://localhost:%d", port),
		state:       randomToken(24),
		nonce:       randomToken(24),
		verifier:    randomToken(32),
		scope:       scope,
	}
}

// url is the authorization request the browser opens.
func (r *authRequest) url() string {
	q := url.Values{
		"client_id":             {cliClientID},
		"response_type":         {"code"},
		"redirect_uri":          {r.redirectURI},
		"scope":                 {r.scope},
		"state":                 {r.state},
		"nonce":                 {r.nonce},
		"code_challenge":        {pkceChallenge(r.verifier)},
		"code_challenge_method": {"S256"},
		"prompt":                {"select_account"},
		"client_info":           {"1"},
	}
	r.hints.add(q)
	sep := "?"
	if strings.Contains(r.ep.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	return r.ep.AuthorizationEndpoint + sep + q.Encode()
}

// checkCallback accepts the authorization response only if it answers this request: same
// state (RFC 6749 §10.12) and the discovered issuer in "iss" (RFC 9207, against mix-up).
// It returns the code, or why the response is refused.
func (r *authRequest) checkCallback(q url.Values) (string, error) {
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(r.state)) != 1 {
		return "", failf("the sign-in response does not belong to this login (state mismatch); it may come from another site. Refusing it; run 'latch login' again.")
	}
	if !issuerMatchesAny(r.ep.Issuer, q.Get("iss")) {
		return "", failf("the sign-in response comes from issuer '%s', not from the server's '%s' (iss mismatch). Refusing it.", q.Get("iss"), r.ep.Issuer)
	}
	if e := q.Get("error"); e != "" {
		return "", &oauthError{Code: e, Description: q.Get("error_description")}
	}
	if q.Get("code") == "" {
		return "", failf("the sign-in response holds no authorization code.")
	}
	return q.Get("code"), nil
}

// issuerMatchesAny is issuerMatches before the tenant is known: a {tenantid} placeholder
// matches any one path segment.
func issuerMatchesAny(discovered, got string) bool {
	before, after, ok := strings.Cut(discovered, "{tenantid}")
	if !ok {
		return got != "" && got == discovered
	}
	if !strings.HasPrefix(got, before) || !strings.HasSuffix(got, after) || len(got) <= len(before)+len(after) {
		return false
	}
	tid := got[len(before) : len(got)-len(after)]
	return !strings.Contains(tid, "/")
}

// callbackResult is what the loopback listener learnt: a code or a refusal.
type callbackResult struct {
	code string
	err  error
}

// callbackHandler answers the browser's redirect to the loopback address. The first response
// carrying state, code or error decides the login; other requests (favicon) get 404.
func (r *authRequest) callbackHandler(done chan<- callbackResult) http.Handler {
	var once sync.Once
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		if req.URL.Path != "/" || !(q.Has("state") || q.Has("code") || q.Has("error")) {
			http.NotFound(w, req)
			return
		}
		code, err := r.checkCallback(q)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, callbackPage, "Authentication failed", html.EscapeString(err.Error()))
		} else {
			fmt.Fprintf(w, callbackPage, "Authentication complete", "You have signed in to Latch. You can close this window and return to the command line.")
		}
		once.Do(func() { done <- callbackResult{code, err} })
	})
}

const callbackPage = `<!doctype html><html><head><meta charset="utf-8"><title>Latch sign-in</title></head>
<body><h1>%s</h1><p>%s</p></body></html>
`

// browserLogin runs the authorization code flow with PKCE through a loopback redirect.
func (a *app) browserLogin(ctx context.Context, c *client, ep *endpoints, scope string, hints signInHints) (*tokenResponse, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", failf("cannot listen on the loopback address for the sign-in redirect: %v", err)
	}
	ar := newAuthRequest(ep, ln.Addr().(*net.TCPAddr).Port, scope, hints)
	done := make(chan callbackResult, 1)
	srv := &http.Server{Handler: ar.callbackHandler(done), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	a.openSignInPage(ctx, ep, ar.url())
	var res callbackResult
	select {
	case <-ctx.Done():
		return nil, "", ctx.Err()
	case res = <-done:
	}
	if res.err != nil {
		return nil, "", res.err
	}
	tr, err := c.requestToken(ctx, ep.TokenEndpoint, url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {cliClientID},
		"code":          {res.code},
		"redirect_uri":  {ar.redirectURI},
		"code_verifier": {ar.verifier},
		"scope":         {scope},
	})
	return tr, ar.nonce, err
}

// openSignInPage opens the browser, or prints the URL when there is none, in az's words.
// The printed URL is shown even with --only-show-errors: without it the login cannot finish.
func (a *app) openSignInPage(ctx context.Context, ep *endpoints, authURL string) {
	open := a.browser(ctx)
	if open != nil && open(ctx, authURL) == nil {
		a.warn("A web browser has been opened at %s. Please continue the login in the web browser. If no web browser is available or if the web browser fails to open, use device code flow with `latch login --use-device-code`.", ep.AuthorizationEndpoint)
		return
	}
	io.WriteString(a.stderr, "To sign in, open this page in a web browser on this computer:\n"+authURL+
		"\nIf no web browser is available, use device code flow with `latch login --use-device-code`.\n")
}
