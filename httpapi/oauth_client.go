package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// client is the OAuth client of a request, with how it proved itself.
type client struct {
	SP            directory.ServicePrincipal
	Authenticated bool // a secret or an assertion was verified; false for public clients
}

// authenticateClient identifies the client of a token or device-code request. A confidential
// client must prove itself with exactly one method (client_secret_basic, client_secret_post or
// private_key_jwt); a public client must send none and may only use user-facing grants.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, a authority) (client, error) {
	const op = "httpapi.authenticateClient"
	id, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return client{}, oauthErr(op, errs.Unauthenticated, "invalid_client", "The client credentials in the Authorization header are malformed.")
		}
	}
	if form := r.PostForm.Get("client_id"); form != "" {
		if id != "" && id != form {
			return client{}, oauthErr(op, errs.Invalid, "invalid_request", "The client_id in the body and in the Authorization header differ.")
		}
		id = form
	}
	methods := 0
	for _, present := range []bool{basic, r.PostForm.Has("client_secret"), r.PostForm.Has("client_assertion")} {
		if present {
			methods++
		}
	}
	if methods > 1 {
		return client{}, oauthErr(op, errs.Invalid, "invalid_request", "Use exactly one client authentication method.")
	}
	if id == "" && r.PostForm.Get("client_assertion") != "" {
		id = assertionIssuer(r.PostForm.Get("client_assertion"))
	}
	sp, err := s.findClient(ctx, a, id)
	if err != nil {
		return client{}, err
	}
	switch {
	case basic:
		return s.checkSecret(sp, secret)
	case r.PostForm.Has("client_secret"):
		return s.checkSecret(sp, r.PostForm.Get("client_secret"))
	case r.PostForm.Has("client_assertion"):
		return s.checkAssertion(ctx, r, a, sp)
	}
	if !sp.PublicClient {
		return client{}, oauthErr(op, errs.Unauthenticated, "invalid_client",
			"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	return client{SP: sp}, nil
}

// findClient loads the enabled service principal whose appId is id, in the authority's tenant.
func (s *Server) findClient(ctx context.Context, a authority, id string) (directory.ServicePrincipal, error) {
	const op = "httpapi.findClient"
	if id == "" || len(id) > 256 {
		return directory.ServicePrincipal{}, oauthErr(op, errs.Invalid, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'client_id'.")
	}
	sp, err := s.clients.get(a.Tenant.ID+"|"+strings.ToLower(id), s.now(), clientTTL, func() (directory.ServicePrincipal, error) {
		return s.Store.GetServicePrincipalByAppID(ctx, a.Tenant.ID, id)
	})
	if errs.Is(err, errs.NotFound) || err == nil && sp.Type == directory.SPManagedIdentity {
		return sp, oauthErr(op, errs.Unauthenticated, "invalid_client",
			"AADSTS700016: Application with identifier '"+truncate(id, 64)+"' was not found in the directory '"+a.Tenant.DefaultDomain+"'.")
	}
	if err != nil {
		return sp, err
	}
	if !sp.AccountEnabled {
		return sp, oauthErr(op, errs.Unauthenticated, "unauthorized_client", "AADSTS7000112: Application '"+id+"' is disabled.")
	}
	return sp, nil
}

func (s *Server) checkSecret(sp directory.ServicePrincipal, secret string) (client, error) {
	if err := s.Secrets.Verify(sp, secret); err != nil {
		return client{}, err
	}
	return client{SP: sp, Authenticated: true}, nil
}

func (s *Server) checkAssertion(ctx context.Context, r *http.Request, a authority, sp directory.ServicePrincipal) (client, error) {
	const op = "httpapi.checkAssertion"
	if r.PostForm.Get("client_assertion_type") != assertionType {
		return client{}, oauthErr(op, errs.Invalid, "invalid_request", "client_assertion_type must be "+assertionType+".")
	}
	audiences := []string{a.endpoint("token"), a.Issuer, s.URL + "/" + a.Tenant.ID + "/oauth2/v2.0/token"}
	err := authn.VerifyClientAssertion(ctx, sp, r.PostForm.Get("client_assertion"), audiences, s.now(), s.useJTI)
	if err != nil {
		return client{}, errs.E(op, errs.Unauthenticated, errs.Code("invalid_client"), err)
	}
	return client{SP: sp, Authenticated: true}, nil
}

func (s *Server) useJTI(ctx context.Context, key string, expires time.Time) error {
	return s.Store.UseJTI(ctx, key, expires, s.now())
}

// assertionIssuer reads iss from an assertion without trusting it, only to find the client;
// the assertion is verified against that client's keys afterwards.
func assertionIssuer(jwt string) string {
	parts := strings.Split(truncate(jwt, 16<<10), ".")
	if len(parts) != 3 {
		return ""
	}
	return unverifiedClaim(parts[1], "iss")
}

// redirectAllowed reports whether uri is one of the client's registered redirect URIs, compared
// as exact strings, except that a loopback http redirect may use any port (RFC 8252 §7.3,
// RFC 9700 §4.1.3). Fragments are never allowed.
func redirectAllowed(sp directory.ServicePrincipal, uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || u.Fragment != "" || strings.Contains(uri, "#") || u.User != nil {
		return false
	}
	for _, reg := range sp.RedirectURIs {
		if reg == uri {
			return true
		}
		ru, err := url.Parse(reg)
		if err != nil || ru.Scheme != "http" || !isLoopback(ru.Hostname()) {
			continue
		}
		if u.Scheme == "http" && u.Hostname() == ru.Hostname() && samePath(u.Path, ru.Path) &&
			u.RawQuery == ru.RawQuery && validPort(u.Port()) {
			return true
		}
	}
	return false
}

func isLoopback(h string) bool { return h == "localhost" || h == "127.0.0.1" || h == "::1" }

func samePath(a, b string) bool {
	if a == "" {
		a = "/"
	}
	if b == "" {
		b = "/"
	}
	return a == b
}

func validPort(p string) bool {
	if p == "" {
		return true
	}
	if len(p) > 5 {
		return false
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
