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
	s.serveToken(w, r, req, imdsSelectors, imdsShape)
}

func (s *Server) serveCloudShellToken(w http.ResponseWriter, r *http.Request, req request) {
	s.serveToken(w, r, req, imdsSelectors, imdsShape)
}

func (s *Server) serveAppServiceToken(w http.ResponseWriter, r *http.Request, req request) {
	s.serveToken(w, r, req, appServiceSelectors, appServiceShape)
}

// serveToken is the flow all three protocols share: audience, identity, the identity's
// limits, then the cache (which calls the control plane when it must).
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, req request, names []string, shape answerShape) {
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
	b, ok := s.idLim.acquire(id.ObjectID)
	if !ok {
		errTooMany.write(w, identityFamily)
		return
	}
	defer s.idLim.release(b)
	e, err := s.cache.getEntry(r.Context(), id, resource, strings.EqualFold(req.q.Get("bypass_cache"), "true"))
	if err != nil {
		s.tokenError(err, resource).write(w, identityFamily)
		return
	}
	answer(e, shape, id, resource, s.cfg.Now()).write(w)
}

func (s *Server) identityFor(r *http.Request, req request, names []string) (Identity, refusal, bool) {
	ids, err := s.src.Identities(r.Context())
	if err != nil {
		s.cfg.Logger.Error("imds: listing identities", "err", err)
		return Identity{}, errInternal, true
	}
	return selectIdentity(&s.idIndex, ids, req.q, names)
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

// imdsVarying is what moves in an IMDS answer with the clock: expires_in and ext_expires_in
// count down to expiry from now, as Azure's cached tokens do, and not_before is now when the
// control plane gave none.
func imdsVarying(tok Token, now time.Time) [3]int64 {
	nbf, ext := tok.NotBefore, tok.ExtExpiresOn
	if nbf.IsZero() {
		nbf = now
	}
	if ext.IsZero() {
		ext = tok.ExpiresOn
	}
	return [3]int64{seconds(tok.ExpiresOn.Sub(now)), seconds(ext.Sub(now)), nbf.Unix()}
}

// imdsBody is the IMDS answer for tok with the moving values v (imdsVarying).
func imdsBody(id Identity, tok Token, resource string, v [3]int64) tokenBody {
	return tokenBody{AccessToken: tok.AccessToken, ClientID: id.ClientID,
		ExpiresIn: strconv.FormatInt(v[0], 10), ExpiresOn: unix(tok.ExpiresOn),
		ExtExpiresIn: strconv.FormatInt(v[1], 10), NotBefore: strconv.FormatInt(v[2], 10),
		Resource: resource, TokenType: "Bearer"}
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// seconds is d in whole seconds, never negative.
func seconds(d time.Duration) int64 { return max(int64(d/time.Second), 0) }
