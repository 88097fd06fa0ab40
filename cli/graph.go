package cli

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// graph calls the Graph-shaped directory API with a token for it.
type graph struct {
	*bearer
	base string // {server}/v1.0/
}

// graph signs the command in to the directory API, refreshing the token when needed.
func (a *app) graph(ctx context.Context) (*graph, error) {
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	return s.graph(ctx)
}

// graph is the directory API for a session that already talks to another API (role
// commands read both ARM and Graph).
func (s *session) graph(ctx context.Context) (*graph, error) {
	b, err := s.bearer(ctx, graphResource(s.prof.Server))
	if err != nil {
		return nil, err
	}
	return &graph{bearer: b, base: s.prof.Server + "/v1.0/"}, nil
}

// url joins the API base, an already escaped path and a query.
func (g *graph) url(path string, q url.Values) string {
	if len(q) == 0 {
		return g.base + path
	}
	return g.base + path + "?" + encodeQuery(q)
}

// do sends one request; out may be nil.
func (g *graph) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	return g.call(ctx, method, g.url(path, q), in, out)
}

// get reads one object; a 404 becomes exit status 3, as az's "show" commands do.
func (g *graph) get(ctx context.Context, path string) (map[string]any, error) {
	var obj map[string]any
	if err := g.do(ctx, http.MethodGet, path, nil, nil, &obj); err != nil {
		return nil, asNotFound(err)
	}
	return obj, nil
}

// list reads a collection ({"value":[…]}), following @odata.nextLink. With firstPageOnly it
// stops after one page and reports whether more were available.
func (g *graph) list(ctx context.Context, path string, q url.Values, firstPageOnly bool) ([]any, bool, error) {
	next := g.url(path, q)
	items := []any{}
	for pages := 0; next != "" && pages < maxPages; pages++ {
		var page struct {
			Value    []any  `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := g.call(ctx, http.MethodGet, next, nil, &page); err != nil {
			return nil, false, err
		}
		items = append(items, page.Value...)
		next = sameOriginOrEmpty(page.NextLink, g.s.prof.Server)
		if firstPageOnly {
			return items, next != "", nil
		}
	}
	return items, false, nil
}

// filterQuery builds $filter from the non-empty clauses joined with "and", as az does.
func filterQuery(clauses ...string) url.Values {
	var parts []string
	for _, c := range clauses {
		if c != "" {
			parts = append(parts, c)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return url.Values{"$filter": {strings.Join(parts, " and ")}}
}

// odataEq is "field eq 'value'" with the value quoted as OData requires (” for ').
func odataEq(field, value string) string {
	if value == "" {
		return ""
	}
	return field + " eq " + odataString(value)
}

// odataStartsWith is "startswith(field,'value')".
func odataStartsWith(field, value string) string {
	if value == "" {
		return ""
	}
	return "startswith(" + field + "," + odataString(value) + ")"
}

func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// seg escapes one path segment (an id or a user principal name).
func seg(s string) string { return url.PathEscape(s) }

// objectID reads "id" from a Graph object.
func objectID(obj any) string {
	m, _ := obj.(map[string]any)
	id, _ := m["id"].(string)
	return id
}

func newADCommand(a *app) *cobra.Command {
	return newGroup("ad", "Manage Latch directory (Microsoft Entra-compatible) graph entities needed for access control.",
		newUserCommand(a), newGroupCommand(a), newSPCommand(a), newDeviceCommand(a))
}

// required marks flags required and says so in the help, as az's "[Required]" does. The tree
// is built by this package, so the names exist.
func required(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		cmd.MarkFlagRequired(n)
		if f := cmd.Flags().Lookup(n); f != nil {
			f.Usage = "[Required] " + f.Usage
		}
	}
}
