package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchsh/latch/httpapi"
	"github.com/latchsh/latch/testenv"
)

func TestSessionCookieAttributes(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	u := testenv.CreateUser(t, srv, "ann", webPassword)
	c := srv.Browser()
	first := page(t, c, http.MethodGet, srv.URL+"/login", nil)
	resp, err := c.PostForm(srv.URL+"/login", url.Values{"csrf": {first.CSRF}, "step": {"password"},
		"username": {u.UserPrincipalName}, "credential": {webPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var ck *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == httpapi.SessionCookie {
			ck = x
		}
	}
	if ck == nil {
		t.Fatalf("fail/no-cookie: %v", resp.Header["Set-Cookie"])
	}
	raw := resp.Header.Get("Set-Cookie")
	if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" || ck.MaxAge <= 0 {
		t.Errorf("fail/attributes: %q", raw)
	}
	if len(ck.Value) != 43 { // 32 random bytes, base64url
		t.Errorf("fail/entropy: value of %d characters", len(ck.Value))
	}
	if !strings.HasPrefix(httpapi.SessionCookie, "__Host-") {
		t.Errorf("fail/prefix: %s", httpapi.SessionCookie)
	}
}

func TestSessionFixation(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	t.Run("fail/planted-value-ignored", func(t *testing.T) {
		u := testenv.CreateUser(t, srv, "bea", webPassword)
		c := srv.Browser()
		base, _ := url.Parse(srv.URL)
		planted := strings.Repeat("A", 43)
		c.Jar.SetCookies(base, []*http.Cookie{{Name: httpapi.SessionCookie, Value: planted, Path: "/", Secure: true}})
		passwordSignIn(t, srv, c, u.UserPrincipalName, webPassword)
		if got := sessionValue(c, srv); got == "" || got == planted {
			t.Fatalf("session value after sign-in %q, want a new one", got)
		}
	})
	t.Run("ok/rekeyed-after-second-factor", func(t *testing.T) {
		c, _, secret, p := pendingBrowser(t, srv, "cid")
		before := sessionValue(c, srv)
		done := page(t, c, http.MethodPost, srv.URL+"/login", url.Values{"csrf": {p.CSRF}, "step": {"otp"},
			"otc": {totpNow(secret, time.Now())}, "return": {"/sessions"}})
		after := sessionValue(c, srv)
		if done.Status != http.StatusSeeOther || after == "" || after == before {
			t.Fatalf("status %d (%s), session %q → %q: want a new id once the code is accepted", done.Status, done.Error(), before, after)
		}
		// The half-signed-in value is worthless now.
		old := srv.Browser()
		old.Jar.SetCookies(mustURL(srv.URL), []*http.Cookie{{Name: httpapi.SessionCookie, Value: before, Path: "/", Secure: true}})
		if p := page(t, old, http.MethodGet, srv.URL+"/sessions", nil); p.Status != http.StatusSeeOther {
			t.Fatalf("the pending cookie still opens /sessions: %d", p.Status)
		}
	})
}

func TestLogoutInvalidatesSession(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	c, _ := signedInBrowser(t, srv, "dan")
	info := page(t, c, http.MethodGet, srv.URL+"/security-info", nil)
	if info.Status != http.StatusOK {
		t.Fatalf("ok/signed-in: %d", info.Status)
	}
	stolen := sessionValue(c, srv)
	out := page(t, c, http.MethodPost, srv.URL+"/logout", url.Values{"csrf": {info.CSRF}})
	if out.Status != http.StatusOK || sessionValue(c, srv) != "" {
		t.Fatalf("logout: %d, cookie still %q", out.Status, sessionValue(c, srv))
	}
	thief := srv.Browser()
	thief.Jar.SetCookies(mustURL(srv.URL), []*http.Cookie{{Name: httpapi.SessionCookie, Value: stolen, Path: "/", Secure: true}})
	if p := page(t, thief, http.MethodGet, srv.URL+"/security-info", nil); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login") {
		t.Fatalf("fail/old-cookie-get: %d %q", p.Status, p.Location)
	}
	if p := page(t, thief, http.MethodPost, srv.URL+"/security-info/totp", url.Values{"csrf": {info.CSRF}}); p.Status != http.StatusUnauthorized && p.Status != http.StatusForbidden {
		t.Fatalf("fail/old-cookie-post: %d", p.Status)
	}
}

func TestSessionsPageEndsAnother(t *testing.T) {
	srv := testenv.StartServer(t, testenv.ServerOptions{})
	u := testenv.CreateUser(t, srv, "eve", webPassword)
	laptop, phone := srv.Browser(), srv.Browser()
	passwordSignIn(t, srv, laptop, u.UserPrincipalName, webPassword)
	passwordSignIn(t, srv, phone, u.UserPrincipalName, webPassword)
	list := page(t, laptop, http.MethodGet, srv.URL+"/sessions", nil)
	if n := strings.Count(list.Body, `action="/sessions/`); n != 2 {
		t.Fatalf("the sessions page lists %d sessions, want 2", n)
	}
	_, others := sessionRefs(list.Body)
	if len(others) != 1 {
		t.Fatalf("want one other session, got %v", others)
	}
	phoneRef := others[0]
	if p := page(t, laptop, http.MethodPost, srv.URL+"/sessions/"+phoneRef+"/delete", url.Values{"csrf": {list.CSRF}}); p.Status != http.StatusSeeOther {
		t.Fatalf("ending the other session: %d %s", p.Status, p.Error())
	}
	if p := page(t, phone, http.MethodGet, srv.URL+"/security-info", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("fail/ended-session-still-works: %d", p.Status)
	}
	if p := page(t, laptop, http.MethodGet, srv.URL+"/security-info", nil); p.Status != http.StatusOK {
		t.Fatalf("ok/own-session-kept: %d", p.Status)
	}
	// Another person's session cannot be ended from here.
	other, _ := signedInBrowser(t, srv, "fay")
	otherList := page(t, other, http.MethodGet, srv.URL+"/sessions", nil)
	ref, _ := sessionRefs(otherList.Body)
	if p := page(t, laptop, http.MethodPost, srv.URL+"/sessions/"+ref+"/delete", url.Values{"csrf": {list.CSRF}}); p.Status != http.StatusNotFound {
		t.Fatalf("fail/other-users-session: %d", p.Status)
	}
}

// sessionRefs reads the sessions page: the current session's reference and the others'.
func sessionRefs(body string) (current string, others []string) {
	for _, li := range strings.Split(body, "<li>")[1:] {
		_, rest, ok := strings.Cut(li, `action="/sessions/`)
		if !ok {
			continue
		}
		ref, _, _ := strings.Cut(rest, "/delete")
		if strings.Contains(li, "This browser") {
			current = ref
		} else {
			others = append(others, ref)
		}
	}
	return current, others
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
