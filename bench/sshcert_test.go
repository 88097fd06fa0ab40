package bench

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/latchsh/latch/token"
)

// SSH certificate issuance beside its physical limit. IssueSSHCert is what the token endpoint
// calls for token_type=ssh-cert once the grant is decided: parse the req_cnf JWK, build the
// certificate, sign it with the tenant's Ed25519 CA. The raw rate below is one Ed25519
// signature over a message as long as such a certificate's signed part, so the two rates side
// by side say how much of issuance is the signature. Compare certs/cpu-s with signs/cpu-s: the
// goal is 10,000 certificates per second per core.

// sshCertRequest is a typical request: one principal, a VM resource id, a five-minute life.
func sshCertRequest(b *testing.B, pub any) token.SSHCertRequest {
	jwk, err := token.SSHPublicKeyJWK(pub)
	if err != nil {
		b.Fatal(err)
	}
	return token.SSHCertRequest{TenantID: benchTenant, UserID: benchObject, UPN: "alice@contoso.test",
		KeyID: "6b1f0e3a-2c4d-4e5f-8a9b-0c1d2e3f4a5b", Principals: []string{"alice@contoso.test"},
		MachineResourceID: "/subscriptions/1f2e3d4c-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
		PublicKeyJWK:      jwk, ValidFor: 5 * time.Minute, Now: time.Now()}
}

// BenchmarkSignEd25519 is the limit: one Ed25519 signature over a certificate-sized message,
// on every core.
func BenchmarkSignEd25519(b *testing.B) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	ca, err := token.NewSSHCA()
	if err != nil {
		b.Fatal(err)
	}
	cert, err := token.IssueSSHCert(ca.Signer(), sshCertRequest(b, priv.Public()))
	if err != nil {
		b.Fatal(err)
	}
	msg := cert.Marshal() // a little longer than the signed part: the bound errs on the high side
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), sampleCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = ed25519.Sign(priv, msg)
		}
	})
	reportRate(b, "signs/s", time.Since(start))
	reportCPU(b, cpu, "signs")
}

// BenchmarkIssueSSHCert is token.IssueSSHCert on every core, for the key types clients send:
// Ed25519 (OpenSSH's default) and RSA-2048 (what az ssh and MSAL send).
func BenchmarkIssueSSHCert(b *testing.B) {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range []struct {
		name string
		pub  any
	}{{"ed25519-key", edKey.Public()}, {"rsa-2048-key", &rsaKey.PublicKey}} {
		b.Run(k.name, func(b *testing.B) { measureSSHCerts(b, sshCertRequest(b, k.pub)) })
	}
}

func measureSSHCerts(b *testing.B, req token.SSHCertRequest) {
	ca, err := token.NewSSHCA()
	if err != nil {
		b.Fatal(err)
	}
	signer := ca.Signer()
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), sampleCPU()
	b.RunParallel(func(pb *testing.PB) {
		var cert *ssh.Certificate
		for pb.Next() {
			if cert, err = token.IssueSSHCert(signer, req); err != nil || len(cert.Signature.Blob) == 0 {
				b.Errorf("issuing: %v", err)
				return
			}
		}
	})
	reportRate(b, "certs/s", time.Since(start))
	reportCPU(b, cpu, "certs")
}
