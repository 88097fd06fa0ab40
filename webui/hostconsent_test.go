package webui

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// The host-consent question escapes what the machine's owner chose (its name) and carries the
// CSRF token and the machine's id in its form.
func TestRenderHostConsent(t *testing.T) {
	w := httptest.NewRecorder()
	Render(w, 200, "hostconsent", Page{Title: "Allow the connection?", CSRF: "tok",
		Data: map[string]string{"Action": "/t1/ssh/hostconsent", "VMID": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/x",
			"Name": `<img src=x onerror=alert(1)>`, "ResourceGroup": "rg", "Subscription": "dev"}})
	body := w.Body.String()
	if strings.Contains(body, "<img src=x") {
		t.Fatalf("fail/injection: the name is not escaped:\n%s", body)
	}
	for _, want := range []string{`name="csrf" value="tok"`, `action="/t1/ssh/hostconsent"`, `name="vm" value="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/x"`,
		`value="allow"`, `value="deny"`, "Latch remembers up to 15 machines for 30 days.", "Resource group rg", "Subscription dev"} {
		if !strings.Contains(body, want) {
			t.Errorf("ok/question: no %q in\n%s", want, body)
		}
	}
}
