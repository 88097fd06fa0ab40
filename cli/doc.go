// Package cli is Latch's az-shaped command line: login (browser, device code, service
// principal), the account and token cache, and the directory commands under "latch ad".
//
// It talks to a Latch server only through the public HTTP APIs — the OAuth/OIDC token service,
// the ARM-shaped and the Graph-shaped REST — exactly as an outside client would, so it must not
// import the server's packages (store, httpapi, domain rules). Everything a person sees follows
// az: flag names, output formats (json, jsonc, table, tsv, yaml, yamlc, none), --query
// (JMESPath), error lines ("ERROR: (Code) Message") and exit codes (1 failure, 2 usage,
// 3 not found).
//
// State lives in one directory (~/.latch, or $LATCH_CONFIG_DIR): profile.json (server, tenant,
// account, subscriptions) and tokens.json (refresh token, access tokens, a service principal's
// secret). Both are written 0600 in a 0700 directory, atomically (temporary file and rename),
// under a file lock so that concurrent commands do not replay a rotated refresh token.
// config.json, which people write, may set the default output ({"output":"table"}).
//
// Only this package's commands read the output settings; commands the caller adds to the
// root (serve, agent) are left alone apart from error printing and exit statuses.
//
// Run executes one command in-process for tests; WithBrowser lets a test drive the browser
// sign-in.
package cli
