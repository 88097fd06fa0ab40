package webui

import (
	"strings"
	"time"
)

// when shows a time for people: "never" for the zero time, else the date and UTC time.
func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// browser names the program behind a User-Agent, roughly, so a person recognises a session.
func browser(ua string) string {
	if ua == "" {
		return "Unknown browser"
	}
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Microsoft Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"},
		{"Safari/", "Safari"}, {"Go-http-client", "A program (Go)"}, {"curl/", "A program (curl)"},
	} {
		if strings.Contains(ua, b.token) {
			return b.name + onOS(ua)
		}
	}
	if len(ua) > 40 {
		ua = ua[:40] + "…"
	}
	return ua
}

func onOS(ua string) string {
	for _, o := range []struct{ token, name string }{
		{"Windows", "Windows"}, {"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			return " on " + o.name
		}
	}
	return ""
}

// methodNames lists the sign-in methods of a session in words.
func methodNames(ms []string) string {
	names := map[string]string{
		"fido2": "passkey", "password": "password", "softwareOath": "authenticator app",
		"temporaryAccessPassOneTime": "Temporary Access Pass", "temporaryAccessPassMultiUse": "Temporary Access Pass",
		"deviceBoundSoftwareKey": "device key", "windowsHelloForBusiness": "device key",
	}
	var out []string
	for _, m := range ms {
		if n, ok := names[m]; ok {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "Signed in with " + strings.Join(out, " and ")
}
