package cli

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// newPasskeyCommand is "latch passkey": the device-bound key this computer signs in with.
func newPasskeyCommand(a *app) *cobra.Command {
	return newGroup("passkey", "Manage the device key this computer signs in with (latch login --passkey).", newPasskeyRegister(a))
}

type passkeyRegisterOptions struct {
	device bool
	pin    bool
	name   string
}

func newPasskeyRegister(a *app) *cobra.Command {
	var o passkeyRegisterOptions
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register a key held by this computer as your sign-in credential.",
		Long: `Register a device-bound key, the command line's counterpart of Windows Hello for Business.

A P-256 key pair is made on this computer and kept in devicekey.json in the configuration
directory (mode 0600); its public half is registered as your credential. With --pin, the
private key is encrypted under a PIN read from standard input, and every 'latch login
--passkey' asks for it. The server records the key as a software key: it cannot verify
where the key is kept. You must be signed in with a second factor (a passkey, an
authenticator code or a Temporary Access Pass) to register one.`,
		Example: `  Register a PIN-protected device key, then sign in with it.
    latch passkey register --device --pin
    latch login --passkey`,
		Args: cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) { return a.registerDeviceKey(ctx, o) }),
	}
	f := cmd.Flags()
	f.BoolVar(&o.device, "device", false, "Register a key held by this computer (the only kind the command line can register).")
	f.BoolVar(&o.pin, "pin", false, "Protect the key with a PIN, read from standard input.")
	f.StringVar(&o.name, "name", "", "A name for the key, shown on the security-info page. Defaults to this computer's host name.")
	return cmd
}

func (a *app) registerDeviceKey(ctx context.Context, o passkeyRegisterOptions) (any, error) {
	if !o.device {
		return nil, usagef("usage error: --device is required; register passkeys for browsers at the server's /security-info page")
	}
	dir, err := a.configDir()
	if err != nil {
		return nil, err
	}
	prof, err := loadProfile(dir)
	if err != nil {
		return nil, err
	}
	pin := ""
	if o.pin {
		if pin, err = a.readPIN("Choose a PIN for this device key (at least 6 characters): "); err != nil {
			return nil, err
		}
		if len(pin) < 6 {
			return nil, usagef("the PIN must have at least 6 characters")
		}
	}
	_, st, err := newDeviceKey(pin)
	if err != nil {
		return nil, err
	}
	g, err := a.graph(ctx)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	body := map[string]any{"publicKey": st.PublicKey, "displayName": o.displayName(), "hardware": false}
	if err := g.do(ctx, http.MethodPost, "me/authentication/deviceKeyMethods", nil, body, &out); err != nil {
		return nil, err
	}
	st.Server, st.Tenant, st.User = prof.Server, prof.Tenant, prof.User.Name
	if err := saveDeviceKey(dir, st); err != nil {
		return nil, err
	}
	return out, nil
}

func (o passkeyRegisterOptions) displayName() string {
	if o.name != "" {
		return o.name
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return "latch on " + h
	}
	return "latch device key"
}

// readPIN prints prompt on stderr and reads one line from standard input.
func (a *app) readPIN(prompt string) (string, error) {
	io.WriteString(a.stderr, prompt)
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if err != nil && line == "" {
		return "", failf("no PIN was given on standard input")
	}
	return line, nil
}
