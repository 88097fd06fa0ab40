package cli

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// fakeGraph is a small in-memory Graph: users, groups with members, service principals.
type fakeGraph struct {
	mu       sync.Mutex
	objects  map[string]map[string]map[string]any // collection → id → object
	members  map[string][]string                  // group id → member ids
	requests []string                             // "METHOD path?query body"
}

func newFakeGraph() *fakeGraph {
	return &fakeGraph{objects: map[string]map[string]map[string]any{
		"users": {}, "groups": {}, "servicePrincipals": {},
	}, members: map[string][]string{}}
}

func (f *fakeIdP) graphHandler(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r, graphResource(f.url())) {
		return
	}
	g := f.graph
	g.mu.Lock()
	defer g.mu.Unlock()
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	raw, _ := json.Marshal(body)
	g.requests = append(g.requests, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.Query().Get("$filter")+" "+string(raw))
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1.0/"), "/")
	parts = g.conditionalAccessParts(parts) // fakegraph_ca_test.go
	status, out := g.route(r.Method, parts, body, r.URL.Query().Get("$filter"), f.url())
	if status == 404 {
		out = map[string]any{"error": map[string]any{"code": "Request_ResourceNotFound",
			"message": "Resource '" + parts[len(parts)-1] + "' does not exist or one of its queried reference-property objects are not present."}}
	}
	if out == nil {
		w.WriteHeader(status)
		return
	}
	writeJSONTest(w, status, out)
}

func (g *fakeGraph) route(method string, p []string, body map[string]any, filter, server string) (int, any) {
	if len(p) == 2 && p[0] == "directoryObjects" && p[1] == "getByIds" && method == "POST" {
		return 200, map[string]any{"value": g.byIDs(body["ids"])}
	}
	coll := g.objects[p[0]]
	if coll == nil {
		return 404, nil
	}
	switch {
	case len(p) == 1 && method == "GET":
		return 200, map[string]any{"value": g.filter(p[0], filter)}
	case len(p) == 1 && method == "POST":
		return 201, g.create(p[0], body)
	}
	obj := g.find(p[0], p[1])
	if obj == nil {
		return 404, nil
	}
	id := obj["id"].(string)
	switch {
	case len(p) == 2:
		return g.object(method, p[0], id, body)
	case len(p) == 3 && p[2] == "members":
		return 200, map[string]any{"value": g.memberObjects(id)}
	case len(p) == 4 && p[3] == "$ref" && method == "POST":
		mid := body["@odata.id"].(string)
		g.members[id] = append(g.members[id], mid[strings.LastIndex(mid, "/")+1:])
		return 204, nil
	case len(p) == 5 && method == "DELETE":
		g.members[id] = slices.DeleteFunc(g.members[id], func(m string) bool { return m == p[3] })
		return 204, nil
	case len(p) == 3 && p[2] == "addPassword":
		return 200, map[string]any{"secretText": "new-secret", "keyId": "k1"}
	}
	return 404, nil
}

func (g *fakeGraph) object(method, coll, id string, body map[string]any) (int, any) {
	switch method {
	case "GET":
		return 200, g.objects[coll][id]
	case "PATCH":
		for k, v := range body {
			g.objects[coll][id][k] = v
		}
		return 204, nil
	case "DELETE":
		delete(g.objects[coll], id)
		return 204, nil
	}
	return 405, map[string]any{"error": map[string]any{"code": "BadRequest", "message": "method"}}
}

func (g *fakeGraph) create(coll string, body map[string]any) map[string]any {
	obj := map[string]any{"id": newUUID(), "@odata.context": "https://example/$metadata#" + coll + "/$entity"}
	for k, v := range body {
		if k != "passwordProfile" {
			obj[k] = v
		}
	}
	if coll == "servicePrincipals" {
		obj["servicePrincipalNames"] = []any{body["appId"]}
		obj["displayName"] = "app " + body["appId"].(string)
	}
	g.objects[coll][obj["id"].(string)] = obj
	return obj
}

func (g *fakeGraph) find(coll, key string) map[string]any {
	if o := g.objects[coll][key]; o != nil {
		return o
	}
	for _, o := range g.objects[coll] {
		if o["userPrincipalName"] == key {
			return o
		}
	}
	return nil
}

func (g *fakeGraph) memberObjects(gid string) []any {
	out := []any{}
	for _, mid := range g.members[gid] {
		out = append(out, map[string]any{"id": mid})
	}
	return out
}

var (
	eqClause    = regexp.MustCompile(`^(\w+) eq '(.*)'$`)
	startClause = regexp.MustCompile(`^startswith\((\w+),'(.*)'\)$`)
	anyClause   = regexp.MustCompile(`^servicePrincipalNames/any\(c:c eq '(.*)'\)$`)
)

// filter understands the clauses the command line sends, joined with " and ".
func (g *fakeGraph) filter(coll, filter string) []any {
	out := []any{}
	for _, o := range g.objects[coll] {
		if matches(o, filter) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b any) int { return strings.Compare(objectID(a), objectID(b)) })
	return out
}

func matches(o map[string]any, filter string) bool {
	if filter == "" {
		return true
	}
	for _, c := range strings.Split(filter, " and ") {
		if m := eqClause.FindStringSubmatch(c); m != nil && o[m[1]] != strings.ReplaceAll(m[2], "''", "'") {
			return false
		}
		if m := startClause.FindStringSubmatch(c); m != nil {
			s, _ := o[m[1]].(string)
			if !strings.HasPrefix(s, strings.ReplaceAll(m[2], "''", "'")) {
				return false
			}
		}
		if m := anyClause.FindStringSubmatch(c); m != nil {
			names, _ := o["servicePrincipalNames"].([]any)
			if !slices.Contains(names, any(m[1])) {
				return false
			}
		}
	}
	return true
}

func (g *fakeGraph) requestLog() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.requests...)
}

// odataTypes is the @odata.type of each collection's objects.
var odataTypes = map[string]string{"users": "#microsoft.graph.user", "groups": "#microsoft.graph.group",
	"servicePrincipals": "#microsoft.graph.servicePrincipal"}

func (g *fakeGraph) byIDs(ids any) []any {
	list, _ := ids.([]any)
	out := []any{}
	for coll, objs := range g.objects {
		for _, id := range list {
			if o := objs[id.(string)]; o != nil {
				typed := map[string]any{"@odata.type": odataTypes[coll]}
				for k, v := range o {
					typed[k] = v
				}
				out = append(out, typed)
			}
		}
	}
	return out
}
