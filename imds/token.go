package imds

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// tokenBody is the IMDS (and Cloud Shell) token answer. Numbers are strings, as Azure sends
// them; clients that decode them as strings break on JSON numbers.
type tokenBody struct {
	AccessToken  string `json:"access_token"`
	ClientID     string `json:"client_id"`
	ExpiresIn    string `json:"expires_in"`
	ExpiresOn    string `json:"expires_on"`
	ExtExpiresIn string `json:"ext_expires_in"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
}

// appServiceBody is the App Service protocol's shorter answer.
type appServiceBody struct {
	AccessToken string `json:"access_token"`
	ExpiresOn   string `json:"expires_on"`
	Resource    string `json:"resource"`
	TokenType   string `json:"token_type"`
	ClientID    string `json:"client_id"`
}

func (s *Server) serveIMDSToken(w http.ResponseWriter, r *http.Request, req request) {
	s.serveToken(w, r, req, imdsSelectors, s.imdsBody)
}

func (s *Server) serveCloudShellToken(w http.ResponseWriter, r *http.Request, req request) {
	s.serveToken(w, r, req, imdsSelectors, s.imdsBody)
}

func (s *Server) serveAppServiceToken(w http.ResponseWriter, r *http.Request, req request) {
	s.serveToken(w, r, req, appServiceSelectors, func(id Identity, tok Token, resource string) any {
		return appServiceBody{AccessToken: tok.AccessToken, ExpiresOn: unix(tok.ExpiresOn),
			Resource: resource, TokenType: "Bearer", ClientID: id.ClientID}
	})
}

// serveToken is the flow all three protocols share: audience, identity, the identity's
// limits, then the cache (which calls the control plane when it must).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, req request, names []string,
	body func(Identity, Token, string) any) {
	resource := req.q.Get("resource")
	if resource == "" {
		errNoAudience.write(w, identityFamily)
		return
	}
	id, ref, bad := s.identityFor(r, req, names)
	if bad {
		ref.write(w, identityFamily)
		return
	}
	done, ok := s.idLim.acquire(id.ObjectID)
	if !ok {
		errTooMany.write(w, identityFamily)
		return
	}
	defer done()
	tok, err := s.cache.get(r.Context(), id, resource, strings.EqualFold(req.q.Get("bypass_cache"), "true"))
	if err != nil {
		s.tokenError(err, resource).write(w, identityFamily)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body(id, tok, resource))
}

func (s *Server) identityFor(r *http.Request, req request, names []string) (Identity, refusal, bool) {
	ids, err := s.src.Identities(r.Context())
	if err != nil {
		s.cfg.Logger.Error("imds: listing identities", "err", err)
		return Identity{}, errInternal, true
	}
	return selectIdentity(ids, req.q, names)
}

// tokenError maps a cache or Source error to the caller's answer; details stay in the log.
func (s *Server) tokenError(err error, resource string) refusal {
	switch {
	case errors.Is(err, ErrIdentityNotFound):
		return errNoIdentity
	case errors.Is(err, ErrInvalidResource):
		return errInvalidResource(resource)
	}
	s.cfg.Logger.Error("imds: getting a token", "resource", resource, "err", err)
	return errInternal
}

func (s *Server) imdsBody(id Identity, tok Token, resource string) any {
	now := s.cfg.Now()
	nbf, ext := tok.NotBefore, tok.ExtExpiresOn
	if nbf.IsZero() {
		nbf = now
	}
	if ext.IsZero() {
		ext = tok.ExpiresOn
	}
	return tokenBody{AccessToken: tok.AccessToken, ClientID: id.ClientID,
		ExpiresIn: seconds(tok.ExpiresOn.Sub(now)), ExpiresOn: unix(tok.ExpiresOn),
		ExtExpiresIn: seconds(ext.Sub(now)), NotBefore: unix(nbf),
		Resource: resource, TokenType: "Bearer"}
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// seconds counts down to expiry from now, as Azure's cached tokens do; never negative.
func seconds(d time.Duration) string { return strconv.FormatInt(max(int64(d/time.Second), 0), 10) }
