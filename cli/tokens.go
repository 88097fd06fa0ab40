package cli

import (
	"context"
	"net/url"
	"time"
)

// refreshMargin is how long before expiry a cached access token is replaced, as az does, so a
// token does not expire between the command line and the server.
const refreshMargin = 5 * time.Minute

// session is the signed-in state one command works with.
type session struct {
	a    *app
	dir  string
	prof *profile
	c    *client
}

// session loads the profile; it fails with az's "Please run 'latch login'" when there is none.
func (a *app) session() (*session, error) {
	dir, err := a.configDir()
	if err != nil {
		return nil, err
	}
	prof, err := loadProfile(dir)
	if err != nil {
		return nil, err
	}
	c, err := a.newClient(prof.CAFile)
	if err != nil {
		return nil, err
	}
	return &session{a: a, dir: dir, prof: prof, c: c}, nil
}

// cacheKey names an access token in tokens.json: tenant and scope.
func cacheKey(tenant, scope string) string { return tenant + " " + scope }

// accessToken returns an access token for scope that is valid for at least refreshMargin,
// from the cache or else from the token service (refresh token for a person, client
// credentials for a service principal). The whole read-refresh-write happens under the state
// lock, so a rotated refresh token is never used twice. A Conditional Access refusal the
// person can meet by signing in again is met on a terminal (oauth_stepup_signin.go), outside
// the lock, which the sign-in's saving takes.
func (s *session) accessToken(ctx context.Context, scope string) (cachedToken, error) {
	var t cachedToken
	err := s.withStepUp(ctx, func() (err error) {
		t, err = s.cachedOrNewToken(ctx, scope)
		return err
	})
	return t, err
}

// cachedOrNewToken is accessToken without the step-up.
func (s *session) cachedOrNewToken(ctx context.Context, scope string) (cachedToken, error) {
	unlock, err := lockState(s.dir)
	if err != nil {
		return cachedToken{}, err
	}
	defer unlock()
	cache, err := loadTokens(s.dir)
	if err != nil {
		return cachedToken{}, err
	}
	key := cacheKey(s.prof.Tenant, scope)
	now := s.a.now()
	if t, ok := cache.AccessTokens[key]; ok && now.Add(refreshMargin).Before(t.ExpiresOn) {
		return t, nil
	}
	s.a.debugf("No valid cached access token for %s; requesting a new one.", scope)
	tr, err := s.acquire(ctx, cache, scope)
	if err != nil {
		return cachedToken{}, err
	}
	t := cache.store(key, tr, now)
	return t, saveTokens(s.dir, cache)
}

// renewToken drops a cached token the server refused and gets a new one, unless another
// command already replaced it.
func (s *session) renewToken(ctx context.Context, scope, refused string) (cachedToken, error) {
	unlock, err := lockState(s.dir)
	if err != nil {
		return cachedToken{}, err
	}
	cache, err := loadTokens(s.dir)
	if err == nil && cache.AccessTokens[cacheKey(s.prof.Tenant, scope)].AccessToken == refused {
		delete(cache.AccessTokens, cacheKey(s.prof.Tenant, scope))
		err = saveTokens(s.dir, cache)
	}
	unlock()
	if err != nil {
		return cachedToken{}, err
	}
	return s.accessToken(ctx, scope)
}

// acquire asks the token service for a token for scope.
func (s *session) acquire(ctx context.Context, cache *tokenCache, scope string) (*tokenResponse, error) {
	form := url.Values{"client_id": {cliClientID}}
	if s.prof.User.Type == "servicePrincipal" {
		if cache.ClientSecret == "" {
			return nil, failf("The service principal's secret is not in the token cache. Run 'latch login --service-principal' again.")
		}
		form.Set("client_id", s.prof.User.Name)
		form.Set("grant_type", "client_credentials")
		form.Set("client_secret", cache.ClientSecret)
		form.Set("scope", scope)
	} else {
		if cache.RefreshToken == "" {
			return nil, failf("There is no refresh token in the token cache. To re-authenticate, please run:\nlatch login")
		}
		form.Set("grant_type", "refresh_token")
		form.Set("refresh_token", cache.RefreshToken)
		form.Set("scope", scope+" "+oidcScopes)
	}
	return s.c.requestToken(ctx, s.prof.TokenEndpoint, form)
}

// store records tr under key, keeps the rotated refresh token, and drops expired entries.
func (t *tokenCache) store(key string, tr *tokenResponse, now time.Time) cachedToken {
	if t.AccessTokens == nil {
		t.AccessTokens = map[string]cachedToken{}
	}
	for k, v := range t.AccessTokens {
		if !now.Before(v.ExpiresOn) {
			delete(t.AccessTokens, k)
		}
	}
	if tr.RefreshToken != "" {
		t.RefreshToken = tr.RefreshToken
	}
	ct := cachedToken{AccessToken: tr.AccessToken, TokenType: tr.TokenType, ExpiresOn: tr.expiry(now).UTC().Truncate(time.Second)}
	t.AccessTokens[key] = ct
	return ct
}
