package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/token"
)

const codeLifetime = 5 * time.Minute

// authRequest is a validated authorization request.
type authRequest struct {
	Authority     authority
	Client        client
	RedirectURI   string
	Scope         string
	State         string
	Nonce         string
	CodeChallenge string
	ResponseMode  string
	LoginHint     string
	Prompt        string   // "", login, none, select_account, consent
	MaxAge        int      // seconds; -1 when not sent
	ACRS          []string // strengths the claims parameter asks for (web_claims.go)
}

// handleAuthorize runs the authorization-code flow. A person with a full session of the
// tenant gets a code at once (single sign-on) unless the client asks for prompt=login or the
// sign-in is older than max_age; otherwise the sign-in pages run here, every step posting
// back with the same request. Errors about the client or redirect URI are shown on the page
// and never redirected (no open redirector); errors after that go back to the client's
// redirect URI with state and iss (RFC 9207).
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	s.page(s.authorizePage)(w, r)
}

func (s *Server) authorizePage(c *webCtx) error {
	r := c.r
	a, err := s.resolveAuthority(r)
	if err == nil {
		err = parseForm(c.w, r)
	}
	if err != nil {
		return err
	}
	req, err := s.parseAuthRequest(r, a)
	if err != nil {
		return err
	}
	if err := req.checkPKCE(r.Form); err != nil {
		s.redirectError(c.w, r, req, err)
		return nil
	}
	f := signInFlow{Tenant: a.Tenant, Action: r.URL.Path, Hidden: authHidden(r.Form), App: req.Client.SP.DisplayName, LoginHint: req.LoginHint,
		PasskeyOnly: passkeyOnly(req.ACRS)}
	if sess, ok := s.reusableSession(c, req); ok {
		return s.issueCode(c, req, sess, f)
	}
	if r.Method == http.MethodGet && req.Prompt == "none" {
		s.redirectError(c.w, r, req, oauthErr("httpapi.authorize", errs.Unauthenticated, "login_required",
			"AADSTS50058: A silent sign-in request was sent but no user is signed in."))
		return nil
	}
	if sess, ok := f.run(c); ok {
		return s.issueCode(c, req, sess, f)
	}
	return nil
}

// reusableSession is the person's session when it may answer this request without signing
// in again: only on a GET (a POST is a sign-in step), in the request's tenant, not with
// prompt=login, and no older than max_age.
func (s *Server) reusableSession(c *webCtx, req authRequest) (webSession, bool) {
	sess := c.sess
	if c.r.Method != http.MethodGet || !sess.signedIn() || sess.TenantID != req.Authority.Tenant.ID || req.Prompt == "login" {
		return webSession{}, false
	}
	if req.MaxAge >= 0 && s.now().Sub(sess.AuthTime) > time.Duration(req.MaxAge)*time.Second {
		return webSession{}, false
	}
	return sess, true
}

// issueCode sends the person back with a code, once Conditional Access lets the session's
// sign-in have one for the requested app; otherwise the page asks for a stronger sign-in
// (web_stepup.go), still within this request's flow f.
func (s *Server) issueCode(c *webCtx, req authRequest, sess webSession, f signInFlow) error {
	flow, clientType := logFlowOf(false)
	answered, err := s.pageCheck(c, pageStepUp{flow: f, authority: req.Authority, client: req.Client.SP,
		scope: req.Scope, logFlow: flow, clientType: clientType, acrs: req.ACRS})
	if answered || err != nil {
		return err
	}
	proof := signInProof{UserID: sess.UserID, AMR: sess.AMR, Methods: sess.Methods, AuthTime: sess.AuthTime}
	code, err := s.newAuthCode(c.r, req, proof)
	if err != nil {
		s.redirectError(c.w, c.r, req, err)
		return nil
	}
	s.redirectResult(c.w, c.r, req, url.Values{"code": {code}})
	return nil
}

// parseAuthRequest validates the client and the redirect URI first, since nothing may be sent
// to a redirect URI before it is known to be the client's.
func (s *Server) parseAuthRequest(r *http.Request, a authority) (authRequest, error) {
	const op = "httpapi.parseAuthRequest"
	q := r.Form
	for k, v := range q {
		if len(v) > 1 {
			return authRequest{}, oauthErr(op, errs.Invalid, "invalid_request", "The parameter '"+truncate(k, 64)+"' was sent more than once.")
		}
	}
	sp, err := s.findClient(r.Context(), a, q.Get("client_id"))
	if err != nil {
		return authRequest{}, err
	}
	redirect := q.Get("redirect_uri")
	if !redirectAllowed(sp, redirect) {
		return authRequest{}, oauthErr(op, errs.Invalid, "invalid_request",
			"AADSTS50011: The redirect URI '"+truncate(redirect, 200)+"' specified in the request does not match the redirect URIs configured for the application '"+sp.AppID+"'.")
	}
	mode := q.Get("response_mode")
	if mode == "" {
		mode = "query"
	}
	if mode != "query" && mode != "form_post" {
		return authRequest{}, oauthErr(op, errs.Invalid, "invalid_request", "response_mode must be query or form_post.")
	}
	maxAge := -1
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return authRequest{}, oauthErr(op, errs.Invalid, "invalid_request", "max_age must be a number of seconds.")
		}
		maxAge = n
	}
	acrs, ok := acrsOfClaims(q.Get("claims")) // web_claims.go
	if !ok {
		return authRequest{}, oauthErr(op, errs.Invalid, "invalid_request", "The claims parameter is not a valid claims request.")
	}
	return authRequest{ACRS: acrs, Authority: a, Client: client{SP: sp}, RedirectURI: redirect, Scope: q.Get("scope"),
		State: q.Get("state"), Nonce: q.Get("nonce"), CodeChallenge: q.Get("code_challenge"),
		ResponseMode: mode, LoginHint: q.Get("login_hint"), Prompt: q.Get("prompt"), MaxAge: maxAge}, nil
}

// checkPKCE demands response_type=code and an S256 challenge from every client (RFC 9700).
func (req authRequest) checkPKCE(q url.Values) error {
	const op = "httpapi.checkPKCE"
	if q.Get("response_type") != "code" {
		return oauthErr(op, errs.Invalid, "unsupported_response_type", "AADSTS900144: Only response_type=code is supported.")
	}
	if q.Get("code_challenge_method") != "S256" || len(req.CodeChallenge) != 43 {
		return oauthErr(op, errs.Invalid, "invalid_request", "AADSTS9002325: Proof Key for Code Exchange is required: send code_challenge with code_challenge_method=S256.")
	}
	return nil
}

// authHidden carries the authorization request through the sign-in form.
func authHidden(q url.Values) map[string]string {
	keep := []string{"client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge",
		"code_challenge_method", "response_type", "response_mode", "prompt", "login_hint", "max_age", "claims"}
	out := map[string]string{}
	for _, k := range keep {
		if v := q.Get(k); v != "" {
			out[k] = v
		}
	}
	return out
}

func (s *Server) newAuthCode(r *http.Request, req authRequest, p signInProof) (string, error) {
	raw := randomToken()
	now := s.now()
	c := token.AuthCode{Hash: hashSecret(raw), TenantID: req.Authority.Tenant.ID, ClientID: req.Client.SP.AppID,
		RedirectURI: req.RedirectURI, Scope: req.Scope, UserID: p.UserID, CodeChallenge: req.CodeChallenge,
		Nonce: req.Nonce, AMR: p.AMR, AuthTime: p.AuthTime, FamilyID: newID(), Expires: now.Add(codeLifetime),
		SignInCorrelationID: newSignInCorrelationID(r)} // signin_correlation.go
	if err := s.Store.CreateAuthCode(r.Context(), c); err != nil {
		return "", err
	}
	return raw, nil
}

// redirectResult sends the person back to the client with the result, state and iss. After a
// POST it answers 303 so the browser does not repost the credentials (RFC 9700 §4.12).
func (s *Server) redirectResult(w http.ResponseWriter, r *http.Request, req authRequest, v url.Values) {
	if req.State != "" {
		v.Set("state", req.State)
	}
	v.Set("iss", req.Authority.Issuer)
	if req.ResponseMode == "form_post" {
		s.renderFormPost(w, r, req.RedirectURI, v)
		return
	}
	u, _ := url.Parse(req.RedirectURI)
	q := u.Query()
	for k, vals := range v {
		q[k] = vals
	}
	u.RawQuery = q.Encode()
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	http.Redirect(w, r, u.String(), status)
}

func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, req authRequest, err error) {
	s.logError(r, err, errs.KindOf(err))
	s.redirectResult(w, r, req, url.Values{"error": {oauthCodeOf(err)}, "error_description": {errs.Message(err)}})
}

// grantAuthCode redeems a code once. The client, redirect URI and PKCE verifier must match
// what the code was issued for; a second redemption revokes what the first one got.
func (s *Server) grantAuthCode(r *http.Request, a authority) (map[string]any, error) {
	const op = "httpapi.grantAuthCode"
	c, err := s.authenticateClient(r.Context(), r, a)
	if err != nil {
		return nil, err
	}
	raw, verifier := r.PostForm.Get("code"), r.PostForm.Get("code_verifier")
	if raw == "" || len(raw) > 512 {
		return nil, oauthErr(op, errs.Invalid, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'code'.")
	}
	if len(verifier) < 43 || len(verifier) > 128 {
		return nil, oauthErr(op, errs.Invalid, "invalid_grant", "AADSTS501481: The code_verifier is missing or does not match the code_challenge of the authorization request.")
	}
	code, err := s.Store.RedeemAuthCode(r.Context(), hashSecret(raw), s.now())
	if err != nil {
		return nil, errs.E(op, errs.KindOf(err), errs.Code("invalid_grant"),
			"AADSTS70008: The provided authorization code is expired, was already redeemed, or does not exist.", err)
	}
	if code.ClientID != c.SP.AppID || code.TenantID != a.Tenant.ID || code.RedirectURI != r.PostForm.Get("redirect_uri") {
		s.Store.RevokeRefreshFamily(r.Context(), code.FamilyID)
		return nil, oauthErr(op, errs.Conflict, "invalid_grant", "AADSTS70008: The authorization code was issued to another client or redirect URI.")
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(code.CodeChallenge)) != 1 {
		return nil, oauthErr(op, errs.Conflict, "invalid_grant", "AADSTS501481: The code_verifier does not match the code_challenge of the authorization request.")
	}
	// The scope is the one the person consented to at /authorize, whatever the redemption says.
	return s.issueCodeTokens(r, a, c, code, code.Scope)
}

// issueCodeTokens issues the tokens of a redeemed code; its refresh family is the code's, so
// that a replayed code can revoke it.
func (s *Server) issueCodeTokens(r *http.Request, a authority, c client, code token.AuthCode, scope string) (map[string]any, error) {
	g := userGrant{Client: c.SP, UserID: code.UserID, Scope: scope, AMR: code.AMR, AuthTime: code.AuthTime, Nonce: code.Nonce,
		FamilyID: code.FamilyID, Flow: signinlog.FlowBrowser, Browser: true, SignInCorrelationID: code.SignInCorrelationID}
	resp, err := s.issueUserTokens(r, a, g)
	if err != nil {
		return nil, err
	}
	if _, oidc, _ := token.ParseScope(scope); slices.Contains(oidc, "offline_access") {
		rt, err := s.newRefreshToken(r.Context(), a, g, code.FamilyID)
		if err != nil {
			return nil, err
		}
		resp["refresh_token"] = rt
	}
	return resp, nil
}
