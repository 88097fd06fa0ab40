package imds

import (
	"crypto/subtle"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// maxQuery caps a query string or a Cloud Shell form. Azure's parameters are a few GUIDs, an
// ARM id and a resource URI; nothing legitimate comes near it.
const maxQuery = 8 << 10

// requestParams reads rt's parameters from the query (and, for a form route, the body),
// refusing repeated names: "client_id=a&client_id=b" has no single meaning, and guessing one
// lets a caller smuggle an identity past a proxy that reads the other.
func requestParams(r *http.Request, rt route) (url.Values, refusal, bool) {
	q, ok := parseParams(r.URL.RawQuery)
	if !ok {
		return nil, errQuery, true
	}
	if q == nil {
		return nil, errDuplicate, true
	}
	if !rt.form {
		return q, refusal{}, false
	}
	return formParams(r, q)
}

// parseParams parses a query string. It returns ok=false when it is malformed or too long,
// and a nil map when a name repeats.
func parseParams(raw string) (url.Values, bool) {
	if len(raw) > maxQuery {
		return nil, false
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, false
	}
	for _, v := range q {
		if len(v) > 1 {
			return nil, true
		}
	}
	return q, true
}

// formParams adds the Cloud Shell form's fields to q; a name in both is repeated.
func formParams(r *http.Request, q url.Values) (url.Values, refusal, bool) {
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/x-www-form-urlencoded" {
		return nil, errQuery, true
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxQuery+1))
	if err != nil {
		return nil, errQuery, true
	}
	form, ok := parseParams(string(body))
	if !ok {
		return nil, errQuery, true
	}
	if form == nil {
		return nil, errDuplicate, true
	}
	for k, v := range form {
		if q.Has(k) {
			return nil, errDuplicate, true
		}
		q[k] = v
	}
	return q, refusal{}, false
}

// identityHeaderOK compares X-IDENTITY-HEADER with the secret in constant time, so the time a
// refusal takes says nothing about how much of a guess was right.
func (s *Server) identityHeaderOK(r *http.Request) bool {
	got := r.Header.Values("X-Identity-Header")
	if len(got) != 1 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got[0]), []byte(s.header)) == 1
}
