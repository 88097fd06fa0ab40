package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// ARM api-versions: the ones az sends, so the server sees the requests az would make.
const (
	apiResources        = "2021-04-01"
	apiCompute          = "2022-11-01"
	apiAuthorization    = "2022-04-01"
	apiManagementGroups = "2021-04-01"
	apiActivityLog      = "2015-04-01"
)

// arm calls the ARM-shaped API on behalf of one subscription.
type arm struct {
	*bearer
	server string
	sub    string // the subscription id (--subscription, else the default one)
}

// arm signs the command in to the resource manager for subscription (a name or id; empty
// means the default subscription).
func (a *app) arm(ctx context.Context, subscription string) (*arm, error) {
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	chosen, err := s.prof.pick(subscription)
	if err != nil {
		return nil, err
	}
	b, err := s.bearer(ctx, armResource(s.prof.Server))
	if err != nil {
		return nil, err
	}
	return &arm{bearer: b, server: s.prof.Server, sub: chosen.ID}, nil
}

// armCommand builds a command that talks to ARM for one subscription; every such command
// takes --subscription, as in az.
func (a *app) armCommand(use, short string, body func(ctx context.Context, c *arm) (any, error)) *cobra.Command {
	var sub string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			c, err := a.arm(ctx, sub)
			if err != nil {
				return nil, err
			}
			return body(ctx, c)
		}),
	}
	cmd.Flags().StringVar(&sub, "subscription", "", "Name or ID of subscription. You can configure the default subscription using `latch account set -s NAME_OR_ID`.")
	return cmd
}

func (c *arm) subscriptionPath() string { return "/subscriptions/" + seg(c.sub) }

func (c *arm) groupPath(rg string) string {
	return c.subscriptionPath() + "/resourceGroups/" + seg(rg)
}

// url joins the server, an already escaped path, the api-version and any other query.
func (c *arm) url(path, apiVersion string, q url.Values) string {
	v := url.Values{"api-version": {apiVersion}}
	for k, vals := range q {
		v[k] = vals
	}
	return c.server + path + "?" + encodeQuery(v)
}

// get reads one resource.
func (c *arm) get(ctx context.Context, path, apiVersion string, q url.Values) (map[string]any, error) {
	var out map[string]any
	err := c.call(ctx, http.MethodGet, c.url(path, apiVersion, q), nil, &out)
	return out, err
}

// show reads one resource for a "show" command: a 404 becomes exit status 3, as in az.
func (c *arm) show(ctx context.Context, path, apiVersion string, q url.Values) (map[string]any, error) {
	out, err := c.get(ctx, path, apiVersion, q)
	return out, asNotFound(err)
}

// list reads every page of a collection: {"value":[…],"nextLink":…}, or a bare JSON array,
// which is how the extension image endpoints answer.
func (c *arm) list(ctx context.Context, path, apiVersion string, q url.Values) ([]any, error) {
	next := c.url(path, apiVersion, q)
	items := []any{}
	for pages := 0; next != "" && pages < maxPages; pages++ {
		var raw json.RawMessage
		if err := c.call(ctx, http.MethodGet, next, nil, &raw); err != nil {
			return nil, err
		}
		page, link, err := decodePage(raw)
		if err != nil {
			return nil, failf("the server's answer to GET %s is not a list: %v", path, err)
		}
		items = append(items, page...)
		next = sameOriginOrEmpty(link, c.server)
	}
	return items, nil
}

func decodePage(raw json.RawMessage) ([]any, string, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, "", nil
	}
	if trimmed[0] == '[' {
		var items []any
		err := json.Unmarshal(trimmed, &items)
		return items, "", err
	}
	var page struct {
		Value    []any  `json:"value"`
		NextLink string `json:"nextLink"`
	}
	err := json.Unmarshal(trimmed, &page)
	return page.Value, page.NextLink, err
}

// scopePath turns a scope given by a person into a request path: it must be absolute, and
// a trailing slash is dropped so that "{scope}/providers/…" stays well formed.
func scopePath(scope string) (string, error) {
	if !strings.HasPrefix(scope, "/") || strings.ContainsAny(scope, "?#") {
		return "", failf("Invalid scope '%s'. A scope starts with '/', e.g. /subscriptions/{id}/resourceGroups/{name}.", scope)
	}
	if scope == "/" {
		return "", nil
	}
	return strings.TrimRight(scope, "/"), nil
}

// subscriptionOfScope reads the subscription id out of a scope ("/subscriptions/{id}/…"),
// which az uses for role ids when --scope names another subscription.
func subscriptionOfScope(scope string) string {
	parts := strings.Split(strings.Trim(scope, "/"), "/")
	if len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions") {
		return parts[1]
	}
	return ""
}

// parseTags turns az's "key[=value]" words into a tag map; no words give {} (clear the tags).
func parseTags(words []string) map[string]string {
	tags := map[string]string{}
	for _, w := range words {
		if w == "" {
			continue
		}
		k, v, _ := strings.Cut(w, "=")
		tags[k] = v
	}
	return tags
}

// resourceFlags adds az's --resource-group/-g and --name/-n.
func resourceFlags(cmd *cobra.Command, rg, name *string, nameHelp string) {
	cmd.Flags().StringVarP(rg, "resource-group", "g", "", "Name of resource group.")
	cmd.Flags().StringVarP(name, "name", "n", "", nameHelp)
	required(cmd, "resource-group", "name")
}
