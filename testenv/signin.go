package testenv

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// These helpers do with plain HTTP what a person does in a browser on the sign-in pages, for
// tests of the flows around them; the pages themselves are tested in a real browser.

// SignInWithForm opens authURL (an /authorize URL), submits the sign-in form with upn and
// credential, and delivers the result to the client's redirect URI as the browser would:
// following the 303 for response_mode=query, or posting the self-submitting form_post page.
func (s *Server) SignInWithForm(authURL, upn, credential string) error {
	resp, err := s.Client.Get(authURL)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the sign-in page answered %d", resp.StatusCode)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		return err
	}
	form := u.Query()
	form.Set("username", upn)
	form.Set("credential", credential)
	c := *s.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = c.PostForm(u.Scheme+"://"+u.Host+u.Path, form)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusSeeOther:
		return deliver(http.Get(resp.Header.Get("Location")))
	case http.StatusOK:
		action, fields := ParseFormPost(string(body))
		if action == "" {
			return fmt.Errorf("the sign-in answered a page with no form to post back")
		}
		return deliver(http.PostForm(action, fields))
	}
	return fmt.Errorf("signing in answered %d: %s", resp.StatusCode, firstLine(body))
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
	errorRE  = regexp.MustCompile(`(?s)<div class="error" role="alert">(.*?)<`)
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

// ApproveDevice does what a person does on /devicelogin: enter the code, sign in, continue.
// It returns the page's error text when the server refuses.
func (s *Server) ApproveDevice(code, upn, credential string) error {
	resp, err := s.Client.PostForm(s.URL+"/devicelogin", url.Values{"otc": {code}, "step": {"signin"},
		"action": {"continue"}, "username": {upn}, "credential": {credential}})
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("device login answered %d: %s", resp.StatusCode, firstLine(body))
	}
	return nil
}

func firstLine(page []byte) string {
	if m := errorRE.FindSubmatch(page); m != nil {
		return html.UnescapeString(strings.TrimSpace(string(m[1])))
	}
	s := string(page)
	if i := strings.IndexByte(s, '\n'); i > 0 {
		s = s[:i]
	}
	return s
}
