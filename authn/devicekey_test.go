package authn

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"slices"
	"testing"

	"github.com/latchsh/latch/errs"
)

// deviceKit is a CLI holding a P-256 device key.
type deviceKit struct {
	key *ecdsa.PrivateKey
	der []byte
	id  []byte
}

func newDeviceKit(t *testing.T) deviceKit {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return deviceKit{key: k, der: der, id: DeviceCredentialID(der)}
}

func (d deviceKit) sign(msg []byte) []byte {
	h := sha256.Sum256(msg)
	sig, _ := ecdsa.SignASN1(rand.Reader, d.key, h[:])
	return sig
}

func TestDeviceKeyLogin(t *testing.T) {
	e := newPasskeyEnv(t)
	d := newDeviceKit(t)
	pk, err := e.pk.RegisterDeviceKey(t.Context(), e.alice, d.der, "alice-laptop", true)
	if err != nil {
		t.Fatal(err)
	}
	if pk.Method != MethodDeviceKey || pk.AttestationType != deviceClaimedHardware || !slices.Equal(pk.CredentialID, d.id) {
		t.Fatalf("an unproven hardware claim must be recorded as a software key: %+v", pk)
	}
	ch, id, err := e.pk.BeginDeviceLogin(t.Context(), testTenant, d.id)
	if err != nil {
		t.Fatal(err)
	}
	uid, got, err := e.pk.FinishDeviceLogin(t.Context(), testTenant, id, d.id, d.sign(ch))
	if err != nil || uid != e.alice.ID || !got.LastUsed.Equal(e.clock.Now()) {
		t.Fatalf("ok/device-login: %v %q %+v", err, uid, got)
	}
	if !slices.Equal(DeviceKeyAMR(true), []string{"swk", "mfa"}) || !slices.Equal(DeviceKeyAMR(false), []string{"swk"}) {
		t.Fatal("device-key amr")
	}
}

// deviceCase is one device-key test, run after alice registered the key d.
type deviceCase struct {
	name string
	want errs.Kind
	run  func(e *passkeyEnv, d deviceKit) error
}

func deviceKeyCases() []deviceCase {
	// finish begins a device login and finishes it with the signature sig(challenge).
	finish := func(e *passkeyEnv, d deviceKit, sig func([]byte) []byte) error {
		ch, id, err := e.pk.BeginDeviceLogin(e.t.Context(), testTenant, d.id)
		if err != nil {
			return err
		}
		_, _, err = e.pk.FinishDeviceLogin(e.t.Context(), testTenant, id, d.id, sig(ch))
		return err
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKIXPublicKey(edPub)
	registerKey := func(der []byte) func(e *passkeyEnv, _ deviceKit) error {
		return func(e *passkeyEnv, _ deviceKit) error {
			_, err := e.pk.RegisterDeviceKey(e.t.Context(), e.alice, der, "k", false)
			return err
		}
	}
	return []deviceCase{
		{"fail/register-rsa-key", errs.Invalid, registerKey(rsaDER)},
		{"fail/register-p384-key", errs.Invalid, registerKey(p384DER)},
		{"fail/register-ed25519-key", errs.Invalid, registerKey(edDER)},
		{"fail/register-garbage", errs.Invalid, registerKey([]byte("not a key"))},
		{"fail/register-twice", errs.Exists, func(e *passkeyEnv, d deviceKit) error {
			_, err := e.pk.RegisterDeviceKey(e.t.Context(), e.bob, d.der, "k", false)
			return err
		}},
		{"fail/unknown-key", errs.Unauthenticated, func(e *passkeyEnv, _ deviceKit) error {
			return finish(e, newDeviceKit(e.t), func([]byte) []byte { return nil })
		}},
		{"fail/bad-signature", errs.Unauthenticated, func(e *passkeyEnv, d deviceKit) error {
			return finish(e, d, func(ch []byte) []byte { s := d.sign(ch); s[len(s)-1] ^= 1; return s })
		}},
		{"fail/signature-by-other-key", errs.Unauthenticated, func(e *passkeyEnv, d deviceKit) error {
			return finish(e, d, func(ch []byte) []byte { return newDeviceKit(e.t).sign(ch) })
		}},
		{"fail/signature-without-prefix", errs.Unauthenticated, func(e *passkeyEnv, d deviceKit) error {
			return finish(e, d, func(ch []byte) []byte { return d.sign(ch[len(deviceChallengePrefix):]) })
		}},
		{"fail/signature-empty", errs.Unauthenticated, func(e *passkeyEnv, d deviceKit) error {
			return finish(e, d, func([]byte) []byte { return nil })
		}},
		{"fail/challenge-reused", errs.Unauthenticated, func(e *passkeyEnv, d deviceKit) error {
			ch, id, _ := e.pk.BeginDeviceLogin(e.t.Context(), testTenant, d.id)
			if _, _, err := e.pk.FinishDeviceLogin(e.t.Context(), testTenant, id, d.id, d.sign(ch)); err != nil {
				return errUnexpectedSuccess
			}
			_, _, err := e.pk.FinishDeviceLogin(e.t.Context(), testTenant, id, d.id, d.sign(ch))
			return err
		}},
		{"fail/challenge-expired", errs.Expired, func(e *passkeyEnv, d deviceKit) error {
			ch, id, _ := e.pk.BeginDeviceLogin(e.t.Context(), testTenant, d.id)
			e.clock.Add(DefaultPasskeyTimeout)
			_, _, err := e.pk.FinishDeviceLogin(e.t.Context(), testTenant, id, d.id, d.sign(ch))
			return err
		}},
		{"fail/challenge-for-another-key", errs.Unauthenticated, func(e *passkeyEnv, d deviceKit) error {
			other := newDeviceKit(e.t)
			e.pk.RegisterDeviceKey(e.t.Context(), e.bob, other.der, "k", false)
			ch, id, _ := e.pk.BeginDeviceLogin(e.t.Context(), testTenant, d.id)
			_, _, err := e.pk.FinishDeviceLogin(e.t.Context(), testTenant, id, other.id, other.sign(ch))
			return err
		}},
		{"fail/challenge-of-a-passkey-login", errs.Unauthenticated, func(e *passkeyEnv, d deviceKit) error {
			_, id, _ := e.pk.BeginLogin(e.t.Context(), testTenant, nil)
			_, _, err := e.pk.FinishDeviceLogin(e.t.Context(), testTenant, id, d.id, d.sign([]byte("x")))
			return err
		}},
		{"fail/passkey-used-as-device-key", errs.Unauthenticated, func(e *passkeyEnv, _ deviceKit) error {
			e.mustRegister(e.alice, e.aliceKey)
			_, _, err := e.pk.BeginDeviceLogin(e.t.Context(), testTenant, e.aliceKey.credID)
			return err
		}},
		{"fail/other-tenant", errs.Unauthenticated, func(e *passkeyEnv, d deviceKit) error {
			_, _, err := e.pk.BeginDeviceLogin(e.t.Context(), "9e8f2b4d-6c3a-4d0e-8f2b-3c4d5e6f7a81", d.id)
			return err
		}},
	}
}

func TestDeviceKeyRefusals(t *testing.T) {
	cases := deviceKeyCases()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newPasskeyEnv(t)
			d := newDeviceKit(t)
			if _, err := e.pk.RegisterDeviceKey(t.Context(), e.alice, d.der, "laptop", false); err != nil {
				t.Fatal(err)
			}
			err := c.run(e, d)
			if err == nil || errs.KindOf(err) != c.want {
				t.Fatalf("got %v, want kind %v", err, c.want)
			}
		})
	}
}
