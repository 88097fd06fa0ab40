package testenv

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// These helpers do with plain HTTP what a person does in a browser on the sign-in pages, for
// tests of the flows around them; the pages themselves are tested in a real browser.

// Browser returns an HTTP client that trusts the server, keeps cookies (the session and CSRF
// cookies) and follows no redirects, so a test sees each answer of the pages.
func (s *Server) Browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := *s.Client
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// Page is one answer of the pages: its status, body and the CSRF token of its forms.
type Page struct {
	Status   int
	Body     string
	CSRF     string
	Location string
}

// Error is the page's error box text, or "".
func (p Page) Error() string {
	if m := errorRE.FindStringSubmatch(p.Body); m != nil {
		return html.UnescapeString(strings.TrimSpace(m[1]))
	}
	return ""
}

// Get and Post fetch a page with browser c (from Browser). Post adds the CSRF token given.
func Get(c *http.Client, u string) (Page, error) { return readPage(c.Get(u)) }

func Post(c *http.Client, u string, form url.Values) (Page, error) {
	return readPage(c.PostForm(u, form))
}

func readPage(resp *http.Response, err error) (Page, error) {
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	p := Page{Status: resp.StatusCode, Body: string(b), Location: resp.Header.Get("Location")}
	if m := csrfRE.FindStringSubmatch(p.Body); m != nil {
		p.CSRF = html.UnescapeString(m[1])
	}
	return p, err
}

// SignInWithForm opens authURL (an /authorize URL), signs in with upn and credential (a
// password or Temporary Access Pass) on the "use another way" step, and delivers the result
// to the client's redirect URI as the browser would: following the 303 for
// response_mode=query, or posting the self-submitting form_post page.
func (s *Server) SignInWithForm(authURL, upn, credential string) error {
	c := s.Browser()
	first, err := Get(c, authURL)
	if err != nil {
		return err
	}
	if first.Status != http.StatusOK {
		return fmt.Errorf("the sign-in page answered %d: %s", first.Status, first.firstLine())
	}
	u, err := url.Parse(authURL)
	if err != nil {
		return err
	}
	form := u.Query()
	form.Set("csrf", first.CSRF)
	form.Set("step", "password")
	form.Set("username", upn)
	form.Set("credential", credential)
	p, err := Post(c, u.Scheme+"://"+u.Host+u.Path, form)
	if err != nil {
		return err
	}
	return deliverResult(p)
}

// deliverResult passes an authorization response on to the client.
func deliverResult(p Page) error {
	switch {
	case p.Status == http.StatusSeeOther || p.Status == http.StatusFound:
		return deliver(http.Get(p.Location))
	case p.Status == http.StatusOK && strings.Contains(p.Body, "<title>Continue</title>"):
		action, fields := ParseFormPost(p.Body)
		if action == "" {
			return fmt.Errorf("the sign-in answered a page with no form to post back")
		}
		return deliver(http.PostForm(action, fields))
	case p.Status == http.StatusOK:
		return fmt.Errorf("the sign-in needs another step: %s", titleOf(p.Body))
	}
	return fmt.Errorf("signing in answered %d: %s", p.Status, p.firstLine())
}

func deliver(resp *http.Response, err error) error {
	if err != nil {
		return fmt.Errorf("returning to the client: %w", err)
	}
	resp.Body.Close()
	return nil
}

var (
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	inputRE  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	errorRE  = regexp.MustCompile(`(?s)<div class="error" role="alert"[^>]*>(.*?)<`)
	csrfRE   = regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]*)">`)
	titleRE  = regexp.MustCompile(`<title>(.*?)</title>`)
)

// ParseFormPost reads the self-submitting form of a form_post response page.
func ParseFormPost(page string) (action string, fields url.Values) {
	fields = url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(page, -1) {
		fields.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	if m := actionRE.FindStringSubmatch(page); m != nil {
		action = html.UnescapeString(m[1])
	}
	return action, fields
}

// ApproveDevice does what a person does on /devicelogin: enter the code, sign in with a
// password or Temporary Access Pass, and confirm. It returns the page's error text when the
// server refuses, or names the step it stopped at.
func (s *Server) ApproveDevice(code, upn, credential string) error {
	c := s.Browser()
	p, err := Get(c, s.URL+"/devicelogin")
	if err == nil {
		p, err = s.devicePost(c, p, url.Values{"otc": {code}, "step": {"code"}})
	}
	if err == nil {
		p, err = s.devicePost(c, p, url.Values{"otc": {code}, "step": {"password"}, "username": {upn}, "credential": {credential}})
	}
	if err != nil {
		return err
	}
	if !strings.Contains(p.Body, `value="confirm"`) {
		return fmt.Errorf("device login stopped at %q: %s", titleOf(p.Body), p.Error())
	}
	p, err = s.devicePost(c, p, url.Values{"otc": {code}, "step": {"confirm"}})
	if err != nil {
		return err
	}
	if !strings.Contains(html.UnescapeString(p.Body), "You're signed in") {
		return fmt.Errorf("device login ended at %q", titleOf(p.Body))
	}
	return nil
}

// devicePost posts one step of /devicelogin with the CSRF token of the page before.
func (s *Server) devicePost(c *http.Client, prev Page, form url.Values) (Page, error) {
	form.Set("csrf", prev.CSRF)
	p, err := Post(c, s.URL+"/devicelogin", form)
	if err != nil {
		return p, err
	}
	if p.Status != http.StatusOK {
		return p, fmt.Errorf("device login answered %d: %s", p.Status, p.firstLine())
	}
	return p, nil
}

func (p Page) firstLine() string {
	if e := p.Error(); e != "" {
		return e
	}
	s := p.Body
	if i := strings.IndexByte(s, '\n'); i > 0 {
		s = s[:i]
	}
	return s
}

func titleOf(page string) string {
	if m := titleRE.FindStringSubmatch(page); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}
