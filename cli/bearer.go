package cli

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// bearer sends requests to one of the server's APIs (Graph or ARM) with an access token for
// it. When the server refuses a token that the cache still thought valid (revoked, or the
// server's keys rotated), it gets a new one once and retries: a 401 means the request was not
// carried out, so retrying is safe.
type bearer struct {
	s     *session
	scope string
	token string
	// retried is set once a refused token has been renewed, so a server that refuses every
	// token costs one extra request, not a loop.
	retried bool
}

// bearer gets (from the cache or the token service) a token for resource.
func (s *session) bearer(ctx context.Context, resource string) (*bearer, error) {
	scope := scopeFor(resource)
	t, err := s.accessToken(ctx, scope)
	if err != nil {
		return nil, err
	}
	return &bearer{s: s, scope: scope, token: t.AccessToken}, nil
}

// call sends one JSON request and decodes the answer into out (when not nil).
func (b *bearer) call(ctx context.Context, method, rawURL string, in, out any) error {
	resp, body, err := b.send(ctx, method, rawURL, in)
	if err != nil {
		return err
	}
	return decodeAnswer(resp, body, out)
}

// send is call without decoding, for callers that read the status or headers.
func (b *bearer) send(ctx context.Context, method, rawURL string, in any) (*http.Response, []byte, error) {
	resp, body, err := b.s.c.send(ctx, method, rawURL, b.token, in)
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || b.retried {
		return resp, body, err
	}
	b.retried = true
	t, terr := b.s.renewToken(ctx, b.scope, b.token)
	if terr != nil {
		return resp, body, err
	}
	b.token = t.AccessToken
	return b.s.c.send(ctx, method, rawURL, b.token, in)
}

// encodeQuery encodes q in sorted key order. Graph and ARM want "$filter" with a literal
// dollar and spaces as %20, which url.Values.Encode would not give.
func encodeQuery(q url.Values) string {
	parts := make([]string, 0, len(q))
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[k] {
			parts = append(parts, k+"="+strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		}
	}
	return strings.Join(parts, "&")
}
