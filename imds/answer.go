package imds

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// answerShape is one of the token answers' JSON shapes.
type answerShape int

const (
	imdsShape       answerShape = iota // IMDS and Cloud Shell: tokenBody
	appServiceShape                    // App Service: appServiceBody
	answerShapes                       // how many there are
)

// rendition is a token answer as written, with what it was made from. Most of an answer is
// fixed for a token's life; only the countdowns (and not_before, when the control plane gave
// none) move, by the second. A cached token is asked for thousands of times a second, so the
// body is encoded once and reused until one of those moving values changes.
type rendition struct {
	clientID string
	varying  [3]int64
	body     []byte
	length   []string // the Content-Length header's value
}

// Header values every token answer shares. net/http only reads header values, and Set or Add
// by anyone else replaces or copies the slice, so sharing them is safe.
var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	noStore         = []string{"no-store"}
)

// answer returns the body for e's token in shape, for id and resource (the cache key's), at
// now: the one made for an earlier request when nothing in it has changed since.
func answer(e *entry, shape answerShape, id Identity, resource string, now time.Time) *rendition {
	var v [3]int64
	if shape == imdsShape {
		v = imdsVarying(e.tok, now)
	}
	slot := &e.answers[shape]
	if r := slot.Load(); r != nil && r.varying == v && r.clientID == id.ClientID {
		return r
	}
	var body any
	if shape == imdsShape {
		body = imdsBody(id, e.tok, resource, v)
	} else {
		body = appServiceBody{AccessToken: e.tok.AccessToken, ExpiresOn: unix(e.tok.ExpiresOn),
			Resource: resource, TokenType: "Bearer", ClientID: id.ClientID}
	}
	b, _ := json.Marshal(body) // a struct of strings always encodes
	r := &rendition{clientID: id.ClientID, varying: v, body: b, length: []string{strconv.Itoa(len(b))}}
	slot.Store(r)
	return r
}

// write sends r as a 200 answer.
func (r *rendition) write(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = r.length
	h["Cache-Control"] = noStore
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(r.body)
}
