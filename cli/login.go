package cli

import (
	"context"
	"net"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// loginOptions are the flags of "latch login".
type loginOptions struct {
	server, caFile, tenant string
	deviceCode             bool
	servicePrincipal       bool
	username, password     string
	allowNoSubscriptions   bool
	passkey                bool // sign in with this computer's device key (passkey_login.go)
}

func newLoginCommand(a *app) *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to Latch.",
		Long: `Log in to a Latch server.

By default, this command logs in with a user account: it opens the server's sign-in page in
a web browser (or prints its address) and waits for the browser to come back to this computer.
Use --use-device-code to sign in from another device instead. To log in as a service principal,
give --service-principal with -u (application id), -p (client secret) and --tenant.

The server's address and CA file are remembered, so later logins may omit them. Tokens are kept
in ~/.latch/tokens.json (or $LATCH_CONFIG_DIR), readable only by you (mode 0600). For a service
principal, the client secret is kept there too, in plain text (mode 0600), so that new tokens can
be requested when the old ones expire, as az does; run 'latch logout' to remove it.`,
		Example: `  Log in interactively.
    latch login --server https://latch.example.com --ca-file ca.pem

  Log in with a device code, from a machine without a browser.
    latch login --server https://latch.example.com --use-device-code

  Log in with a service principal and a client secret.
    latch login --service-principal -u 8b2f7e0c-... -p "$SECRET" --tenant contoso.test`,
		Args: cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) { return a.login(ctx, o) }),
	}
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "", "URL of the Latch server, e.g. https://latch.example.com. Defaults to the server of the last login.")
	f.StringVar(&o.caFile, "ca-file", "", "PEM file with the CA certificate that signed the server's certificate (its ca.pem), if your system does not trust it.")
	f.StringVarP(&o.tenant, "tenant", "t", "", "The tenant (id or domain) to log in to. Defaults to the server's home tenant.")
	f.BoolVar(&o.deviceCode, "use-device-code", false, "Use device code flow: sign in on another device by entering a code.")
	f.BoolVar(&o.servicePrincipal, "service-principal", false, "The credential represents a service principal.")
	f.StringVarP(&o.username, "username", "u", "", "Application id of the service principal (with --service-principal).")
	f.StringVarP(&o.password, "password", "p", "", "Client secret of the service principal (with --service-principal).")
	f.BoolVar(&o.passkey, "passkey", false, "Sign in with this computer's device key (see 'latch passkey register --device'), without a browser.")
	f.BoolVar(&o.allowNoSubscriptions, "allow-no-subscriptions", false, "Support access to tenants without subscriptions. It's uncommon but useful to run tenant level commands, such as 'latch ad'.")
	return cmd
}

// loginResult is what a login learnt about the account.
type loginResult struct {
	tenantID, homeTenantID string
	user                   accountUser
	tr                     *tokenResponse
	secret                 string
}

func (a *app) login(ctx context.Context, o loginOptions) (any, error) {
	dir, err := a.configDir()
	if err != nil {
		return nil, err
	}
	if err := o.fill(dir); err != nil {
		return nil, err
	}
	c, err := a.newClient(o.caFile)
	if err != nil {
		return nil, err
	}
	ep, err := c.discover(ctx, o.server, o.tenantOrHome())
	if err != nil {
		return nil, err
	}
	res, err := a.signInWith(ctx, c, ep, o)
	if err != nil {
		return nil, err
	}
	prof := &profile{Server: o.server, CAFile: o.caFile, Tenant: res.tenantID, HomeTenantID: res.homeTenantID,
		TokenEndpoint: a.tenantTokenEndpoint(ctx, c, ep, o.server, res.tenantID), User: res.user}
	if err := a.attachSubscriptions(ctx, c, prof, res.tr.AccessToken, o.allowNoSubscriptions, dir); err != nil {
		return nil, err
	}
	if err := a.saveLogin(dir, prof, res); err != nil {
		return nil, err
	}
	return tabled{accountList(prof), accountTable}, nil
}

// fill checks the flags and takes the server and CA file of the last login when omitted.
func (o *loginOptions) fill(dir string) error {
	if o.servicePrincipal && (o.username == "" || o.password == "" || o.tenant == "") {
		return usagef("usage error: --service-principal --username NAME --password SECRET --tenant TENANT")
	}
	if !o.servicePrincipal && (o.username != "" || o.password != "") {
		return usagef("usage error: --username and --password are for --service-principal; users sign in in the browser or with --use-device-code")
	}
	if o.servicePrincipal && o.deviceCode {
		return usagef("usage error: --use-device-code cannot be used with --service-principal")
	}
	if o.server == "" {
		prev, err := loadProfile(dir)
		if err != nil {
			return usagef("the following arguments are required: --server")
		}
		o.server = prev.Server
		if o.caFile == "" {
			o.caFile = prev.CAFile
		}
	}
	return o.normalise()
}

func (o *loginOptions) normalise() error {
	server, err := normaliseServer(o.server)
	if err != nil {
		return err
	}
	o.server = server
	if o.caFile != "" {
		if o.caFile, err = filepath.Abs(o.caFile); err != nil {
			return usagef("--ca-file: %v", err)
		}
	}
	return nil
}

// tenantOrHome is the authority's tenant segment: "organizations" means the server's home
// tenant, as in Entra.
func (o *loginOptions) tenantOrHome() string {
	if o.tenant == "" {
		return "organizations"
	}
	return o.tenant
}

// normaliseServer accepts https URLs, and plain http only on loopback addresses: tokens,
// passwords and secrets must not cross a network in the clear.
func normaliseServer(s string) (string, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(s), "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
		return "", usagef("--server must be a URL such as https://latch.example.com, not '%s'", s)
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return "", usagef("--server must use https: tokens and secrets are not sent over plain http (http is allowed only for loopback addresses).")
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath(), nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// tenantTokenEndpoint is the token endpoint of the tenant signed in to, so that refreshes go to
// that tenant rather than to "organizations"; the first endpoint serves if discovery fails.
func (a *app) tenantTokenEndpoint(ctx context.Context, c *client, ep *endpoints, server, tid string) string {
	if tid == "" || strings.Contains(ep.TokenEndpoint, "/"+tid+"/") {
		return ep.TokenEndpoint
	}
	if tep, err := c.discover(ctx, server, tid); err == nil {
		return tep.TokenEndpoint
	}
	return ep.TokenEndpoint
}

// saveLogin writes the tokens, then the profile, under the state lock: a profile never names
// tokens that are not there.
func (a *app) saveLogin(dir string, prof *profile, res *loginResult) error {
	unlock, err := lockState(dir)
	if err != nil {
		return err
	}
	defer unlock()
	cache := &tokenCache{ClientSecret: res.secret}
	cache.store(cacheKey(prof.Tenant, scopeFor(armResource(prof.Server))), res.tr, a.now())
	if err := saveTokens(dir, cache); err != nil {
		return err
	}
	return saveProfile(dir, prof)
}
