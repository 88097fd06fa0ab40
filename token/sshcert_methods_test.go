package token

import "testing"

// The methods extension is what the machine checks Conditional Access against at login, so
// what goes in must be exactly the sign-in's methods, in one canonical form.
func TestIssueSSHCertMethodsExtension(t *testing.T) {
	cases := []struct {
		name    string
		methods []string
		want    string
		present bool
	}{
		{"fail/none-means-absent", nil, "", false},
		{"fail/only-unsafe-names-means-absent", []string{"a,b", "with space"}, "", false},
		{"ok/sorted", []string{"softwareOath", "password"}, "password,softwareOath", true},
		{"ok/duplicates-once", []string{"fido2", "fido2"}, "fido2", true},
		{"ok/unsafe-name-dropped", []string{"fido2", "x\ny"}, "fido2", true},
	}
	ca := newTestCA(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := okSSHRequest(t)
			req.Methods = tc.methods
			cert, err := IssueSSHCert(ca.Signer(), req)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := cert.Extensions[SSHCertExtensionMethods]
			if ok != tc.present || got != tc.want {
				t.Fatalf("extension %q present %v, want %q present %v", got, ok, tc.want, tc.present)
			}
		})
	}
}

func TestIssueSSHCertMethodsTooLong(t *testing.T) {
	req := okSSHRequest(t)
	long := make([]byte, maxSSHField+1)
	for i := range long {
		long[i] = 'a'
	}
	req.Methods = []string{string(long)}
	if _, err := IssueSSHCert(newTestCA(t).Signer(), req); err == nil {
		t.Fatal("an over-long method list was accepted")
	}
}
