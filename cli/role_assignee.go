package cli

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// principal is who a role assignment is for: an object id and ARM's principal type.
type principal struct{ id, typ string }

// principalTypes maps Graph's @odata.type to ARM's principalType.
var principalTypes = map[string]string{
	"#microsoft.graph.user":             "User",
	"#microsoft.graph.servicePrincipal": "ServicePrincipal",
	"#microsoft.graph.group":            "Group",
}

// resolveAssignee finds --assignee in the directory as az does: a name with "@" as a user
// principal name, then as a service principal name (an appId is one), then a GUID as an
// object id of any kind.
func (g *graph) resolveAssignee(ctx context.Context, a *app, assignee string) (principal, error) {
	p, err := g.lookupAssignee(ctx, assignee)
	var notFound *cliError
	if err == nil || !isGUID(assignee) || errors.As(err, &notFound) {
		return p, err
	}
	// The directory could not be asked (no permission): az takes a GUID as the object id.
	a.warn("Failed to query %s by invoking Graph API. If you don't have permission to query Graph API, please specify --assignee-object-id and --assignee-principal-type.", assignee)
	a.warn("Assuming %s as an object ID.", assignee)
	return principal{id: assignee}, nil
}

func (g *graph) lookupAssignee(ctx context.Context, assignee string) (principal, error) {
	if strings.ContainsRune(assignee, '@') {
		users, _, err := g.list(ctx, "users", filterQuery(odataEq("userPrincipalName", assignee)), true)
		if err != nil || len(users) > 0 {
			return principal{id: objectID(firstOf(users)), typ: "User"}, err
		}
	}
	sps, _, err := g.list(ctx, "servicePrincipals", url.Values{"$filter": {"servicePrincipalNames/any(c:c eq " + odataString(assignee) + ")"}}, true)
	if err != nil || len(sps) > 0 {
		return principal{id: objectID(firstOf(sps)), typ: "ServicePrincipal"}, err
	}
	if isGUID(assignee) {
		objs, err := g.objectsByIDs(ctx, []string{assignee})
		if err != nil || len(objs) > 0 {
			return principal{id: objectID(firstOf(objs)), typ: typeOfObject(firstOf(objs))}, err
		}
	}
	return principal{}, notFoundAssignee(assignee)
}

// notFoundAssignee is az's message when the directory has no such principal.
func notFoundAssignee(assignee string) error {
	return failf("%s", "Cannot find user or service principal in graph database for '"+assignee+"'. "+
		"If the assignee is an appId, make sure the corresponding service principal is created with 'latch ad sp create --id "+assignee+"'.")
}

func typeOfObject(obj any) string {
	m, _ := obj.(map[string]any)
	t, _ := m["@odata.type"].(string)
	return principalTypes[t]
}

// objectsByIDs reads directory objects of any kind by id (POST directoryObjects/getByIds),
// up to 1000 ids per request as Graph allows.
func (g *graph) objectsByIDs(ctx context.Context, ids []string) ([]any, error) {
	var out []any
	for start := 0; start < len(ids); start += 1000 {
		body := map[string]any{"ids": ids[start:min(start+1000, len(ids))],
			"types": []string{"user", "group", "servicePrincipal", "directoryObjectPartnerReference"}}
		var page struct {
			Value []any `json:"value"`
		}
		if err := g.do(ctx, http.MethodPost, "directoryObjects/getByIds", nil, body, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
	}
	return out, nil
}

// principalTypeOf asks the directory for an object's type; failure leaves it to the server.
func (c *arm) principalTypeOf(ctx context.Context, a *app, objectID string) string {
	g, err := c.s.graph(ctx)
	if err == nil {
		var objs []any
		if objs, err = g.objectsByIDs(ctx, []string{objectID}); err == nil && len(objs) > 0 {
			return typeOfObject(objs[0])
		}
	}
	if err != nil {
		a.warn("Failed to query --assignee-principal-type for --assignee-object-id %s by invoking Graph API.", objectID)
	}
	return ""
}

// displayName is how az names a principal in an assignment list: the user principal name,
// else the first service principal name, else the display name.
func displayName(obj map[string]any) string {
	if upn, ok := obj["userPrincipalName"].(string); ok {
		return upn
	}
	if names, ok := obj["servicePrincipalNames"].([]any); ok && len(names) > 0 {
		n, _ := names[0].(string)
		return n
	}
	n, _ := obj["displayName"].(string)
	return n
}
