package httpapi_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/httpapi"
	"github.com/latchsh/latch/testenv"
)

const webPassword = "correct horse battery staple"

// page fetches a page with browser c and fails the test on a transport error.
func page(t *testing.T, c *http.Client, method, u string, form url.Values) testenv.Page {
	t.Helper()
	var p testenv.Page
	var err error
	if method == http.MethodGet {
		p, err = testenv.Get(c, u)
	} else {
		p, err = testenv.Post(c, u, form)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// passwordSignIn signs in on /login with the password step and returns the last page.
func passwordSignIn(t *testing.T, srv *testenv.Server, c *http.Client, upn, password string) testenv.Page {
	t.Helper()
	first := page(t, c, http.MethodGet, srv.URL+"/login", nil)
	return page(t, c, http.MethodPost, srv.URL+"/login", url.Values{"csrf": {first.CSRF}, "step": {"password"},
		"username": {upn}, "credential": {password}, "return": {"/security-info"}})
}

// signedInBrowser is a browser with a full session of a new user.
func signedInBrowser(t *testing.T, srv *testenv.Server, name string) (*http.Client, directory.User) {
	t.Helper()
	u := testenv.CreateUser(t, srv, name, webPassword)
	c := srv.Browser()
	if p := passwordSignIn(t, srv, c, u.UserPrincipalName, webPassword); p.Status != http.StatusSeeOther {
		t.Fatalf("sign-in answered %d: %s", p.Status, p.Error())
	}
	return c, u
}

// sessionValue is the session cookie the browser holds, or "".
func sessionValue(c *http.Client, srv *testenv.Server) string {
	u, _ := url.Parse(srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == httpapi.SessionCookie {
			return ck.Value
		}
	}
	return ""
}

// withTOTP turns on per-user MFA for u and gives them a confirmed authenticator app.
func withTOTP(t *testing.T, srv *testenv.Server, u directory.User) []byte {
	t.Helper()
	ctx := context.Background()
	secret := []byte("12345678901234567890")
	m := authn.TOTPMethod{ID: uuid.NewString(), TenantID: u.TenantID, UserID: u.ID, DisplayName: "app",
		Secret: secret, Confirmed: true, Created: time.Now()}
	if err := srv.Store.CreateTOTP(ctx, m); err != nil {
		t.Fatal(err)
	}
	_, err := srv.Store.UpdateUser(ctx, u.TenantID, u.ID, func(cur directory.User) (directory.User, error) {
		cur.MFA = directory.MFAEnabled
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// totpNow is the RFC 6238 code of secret at t (HMAC-SHA-1, six digits, 30 s).
func totpNow(secret []byte, at time.Time) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	mac := hmac.New(sha1.New, secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff)%1000000)
}

// pendingBrowser is a browser whose session is half signed in: password accepted, code due.
func pendingBrowser(t *testing.T, srv *testenv.Server, name string) (*http.Client, directory.User, []byte, testenv.Page) {
	t.Helper()
	u := testenv.CreateUser(t, srv, name, webPassword)
	secret := withTOTP(t, srv, u)
	c := srv.Browser()
	p := passwordSignIn(t, srv, c, u.UserPrincipalName, webPassword)
	if p.Status != http.StatusOK || sessionValue(c, srv) == "" {
		t.Fatalf("want the code step with a pending session, got %d %s", p.Status, p.Error())
	}
	return c, u, secret, p
}
