package cli

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// fakeARM is a small in-memory resource manager speaking ARM's shapes: resource groups, VMs
// and their extensions, extension images, role definitions and assignments, management
// groups and the activity log. Some writes answer as long-running operations, so that the
// command line's polling is exercised.
type fakeARM struct {
	mu          sync.Mutex
	res         map[string]map[string]any // lower-cased id → resource
	events      []any
	requests    []string       // "METHOD path?query"
	bodies      []string       // request bodies, in order
	asyncOps    map[string]int // operation id → polls left before it succeeds
	locationOps map[string]int // the same for operations followed through Location
	imageVers   []string       // versions offered for every extension type
	deleteAsync bool           // resource group deletes answer 202 with a Location
	// agent, when set, sees every resource written (PUT) or read (GET) and may change it, as
	// a machine's agent moves an extension on between the command line's polls.
	agent func(method string, res map[string]any)
}

func newFakeARM() *fakeARM {
	return &fakeARM{res: map[string]map[string]any{}, asyncOps: map[string]int{}, locationOps: map[string]int{},
		imageVers: []string{"1.0.0.1", "2.10.0.0", "2.2.0.0"}, deleteAsync: true}
}

func (f *fakeIdP) armHandler(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r, armResource(f.url())) {
		return
	}
	a := f.arm
	a.mu.Lock()
	defer a.mu.Unlock()
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	raw, _ := json.Marshal(body)
	a.requests = append(a.requests, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery)
	a.bodies = append(a.bodies, string(raw))
	rq := armRequest{method: r.Method, path: strings.TrimRight(r.URL.Path, "/"), query: r.URL.Query(), body: body, server: f.url(), w: w}
	status, out := a.route(&rq)
	if status >= 400 && out == nil {
		out = armErr("ResourceNotFound", "The Resource '"+rq.path+"' was not found.")
	}
	if status/100 == 2 && (r.Method == "PUT" || r.Method == "DELETE" || r.Method == "PATCH") {
		a.record(rq.path, r.Method, r.Header.Get("x-ms-correlation-request-id"))
	}
	if out == nil {
		w.WriteHeader(status)
		return
	}
	writeJSONTest(w, status, out)
}

// armRequest is one request as the fake routes it.
type armRequest struct {
	method, path string
	query        map[string][]string
	body         map[string]any
	server       string
	w            http.ResponseWriter
}

func (rq *armRequest) q(k string) string {
	if v := rq.query[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func armErr(code, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": msg}}
}

func (a *fakeARM) route(rq *armRequest) (int, any) {
	lower := strings.ToLower(rq.path)
	switch {
	case strings.Contains(lower, "/operationresults/"):
		return a.operationStatus(rq)
	case strings.Contains(lower, "/providers/microsoft.authorization/roledefinitions"):
		return a.roleDefinitions(rq)
	case strings.Contains(lower, "/providers/microsoft.authorization/roleassignments"):
		return a.roleAssignments(rq)
	case strings.Contains(lower, "/providers/microsoft.compute/locations/"):
		return a.extensionImages(rq)
	case strings.HasSuffix(lower, "/providers/microsoft.insights/eventtypes/management/values"):
		return 200, map[string]any{"value": a.activity(rq.q("$filter"))}
	}
	return a.generic(rq)
}

// canonicalID spells resourceGroups as ARM prints it, whatever the request's case.
var rgSegment = regexp.MustCompile(`(?i)/resourcegroups/`)

func canonicalID(path string) string { return rgSegment.ReplaceAllString(path, "/resourceGroups/") }

// typeOf derives a resource's type from its id.
func typeOf(id string) string {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	i := slices.IndexFunc(parts, func(s string) bool { return strings.EqualFold(s, "providers") })
	if i < 0 {
		if len(parts) == 4 {
			return "Microsoft.Resources/resourceGroups"
		}
		return ""
	}
	t := parts[i+1]
	for j := i + 2; j < len(parts); j += 2 {
		t += "/" + parts[j]
	}
	return t
}

// isCollection reports whether path names a collection (an even number of segments after
// the last "providers", or the resource group list).
func isCollection(path string) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	i := slices.IndexFunc(parts, func(s string) bool { return strings.EqualFold(s, "providers") })
	if i < 0 {
		return len(parts) == 3
	}
	return (len(parts)-i-1)%2 == 0
}

func parentOf(id string) string { return id[:strings.LastIndex(id, "/")] }

func (a *fakeARM) generic(rq *armRequest) (int, any) {
	if isCollection(rq.path) && rq.method == "GET" {
		return 200, map[string]any{"value": a.children(rq.path)}
	}
	key := strings.ToLower(rq.path)
	if vm, ok := strings.CutSuffix(key, "/generateonboardingtoken"); ok && rq.method == "POST" && a.res[vm] != nil {
		return 200, map[string]any{"token": "onboarding-token-for-" + rq.path[strings.LastIndex(parentOf(rq.path), "/")+1:len(parentOf(rq.path))]}
	}
	cur := a.res[key]
	switch rq.method {
	case "GET", "HEAD":
		if cur == nil {
			return 404, a.notFound(rq.path)
		}
		if a.agent != nil {
			a.agent(rq.method, cur)
		}
		if rq.q("$expand") == "instanceView" {
			return 200, a.withInstanceView(cur)
		}
		return 200, cur
	case "PUT":
		return a.put(rq, cur)
	case "PATCH":
		if cur == nil {
			return 404, a.notFound(rq.path)
		}
		for k, v := range rq.body {
			cur[k] = v
		}
		setIdentity(cur)
		return 200, cur
	case "DELETE":
		return a.delete(rq, key, cur)
	}
	return 405, armErr("MethodNotAllowed", "method")
}

func (a *fakeARM) notFound(path string) map[string]any {
	if typeOf(path) == "Microsoft.Resources/resourceGroups" {
		name := path[strings.LastIndex(path, "/")+1:]
		return armErr("ResourceGroupNotFound", "Resource group '"+name+"' could not be found.")
	}
	return armErr("ResourceNotFound", "The Resource '"+typeOf(path)+"/"+path[strings.LastIndex(path, "/")+1:]+"' under resource group was not found.")
}

func (a *fakeARM) children(path string) []any {
	out := []any{}
	t := typeOf(path + "/x")
	subLevel := strings.Count(strings.Trim(path, "/"), "/") == 4 // /subscriptions/s/providers/ns/type
	for k, r := range a.res {
		if strings.EqualFold(parentOf(k), path) || (subLevel && strings.EqualFold(r["type"].(string), t) && strings.HasPrefix(k, strings.ToLower(path[:strings.Index(path, "/providers")]))) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(x, y any) int { return strings.Compare(objectID(x), objectID(y)) })
	return out
}

func (a *fakeARM) put(rq *armRequest, cur map[string]any) (int, any) {
	id := canonicalID(rq.path)
	typ := typeOf(id)
	if rg := rgOf(id); typ != "Microsoft.Resources/resourceGroups" && rg != "" && a.res[strings.ToLower(rg)] == nil {
		return 404, a.notFound(rg)
	}
	res := map[string]any{"id": id, "name": id[strings.LastIndex(id, "/")+1:], "type": typ}
	for k, v := range rq.body {
		res[k] = v
	}
	props, _ := res["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		res["properties"] = props
	}
	props["provisioningState"] = "Succeeded"
	setIdentity(res)
	status := 201
	if cur != nil {
		status = 200
	}
	a.res[strings.ToLower(rq.path)] = res
	if a.agent != nil {
		a.agent(rq.method, res)
	}
	if typ == "Microsoft.Compute/virtualMachines" || typ == "Microsoft.Management/managementGroups" {
		return a.startAsync(rq, res, status)
	}
	return status, res
}

// startAsync answers as ARM does for a slow create: 201, provisioning state Creating, and an
// Azure-AsyncOperation to poll.
func (a *fakeARM) startAsync(rq *armRequest, res map[string]any, status int) (int, any) {
	op := newUUID()
	a.asyncOps[op] = 1
	rq.w.Header().Set("Azure-AsyncOperation", rq.server+"/subscriptions/"+subID+"/operationresults/"+op+"?api-version=x")
	rq.w.Header().Set("Retry-After", "0")
	answer := map[string]any{}
	for k, v := range res {
		answer[k] = v
	}
	answer["properties"] = map[string]any{"provisioningState": "Creating"}
	if typeOf(rq.path) == "Microsoft.Management/managementGroups" {
		return 202, nil
	}
	return status, answer
}

func (a *fakeARM) operationStatus(rq *armRequest) (int, any) {
	op := rq.path[strings.LastIndex(rq.path, "/")+1:]
	if left, ok := a.locationOps[op]; ok {
		if left > 0 {
			a.locationOps[op] = left - 1
			return 202, nil
		}
		return 204, nil
	}
	left, ok := a.asyncOps[op]
	switch {
	case !ok:
		return 404, nil
	case left > 0:
		a.asyncOps[op] = left - 1
		return 200, map[string]any{"status": "InProgress"}
	}
	return 200, map[string]any{"status": "Succeeded"}
}

func (a *fakeARM) delete(rq *armRequest, key string, cur map[string]any) (int, any) {
	if cur == nil {
		return 204, nil
	}
	for k := range a.res {
		if k == key || strings.HasPrefix(k, key+"/") {
			delete(a.res, k)
		}
	}
	if a.deleteAsync && typeOf(rq.path) == "Microsoft.Resources/resourceGroups" {
		op := newUUID()
		a.locationOps[op] = 1
		rq.w.Header().Set("Location", rq.server+"/subscriptions/"+subID+"/operationresults/"+op+"?api-version=x")
		rq.w.Header().Set("Retry-After", "0")
		return 202, nil
	}
	return 200, nil
}

func rgOf(id string) string {
	parts := strings.Split(id, "/")
	if len(parts) < 5 || !strings.EqualFold(parts[3], "resourceGroups") {
		return ""
	}
	return strings.Join(parts[:5], "/")
}

// setIdentity fills a system-assigned identity's principal and tenant, as ARM does.
func setIdentity(res map[string]any) {
	ident, _ := res["identity"].(map[string]any)
	if ident == nil {
		return
	}
	if t, _ := ident["type"].(string); strings.Contains(t, "SystemAssigned") {
		if ident["principalId"] == nil {
			ident["principalId"] = newUUID()
			ident["tenantId"] = homeTenant
		}
		return
	}
	delete(ident, "principalId")
	delete(ident, "tenantId")
}

func (a *fakeARM) withInstanceView(vm map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range vm {
		out[k] = v
	}
	exts := []any{}
	for _, e := range a.children(vm["id"].(string) + "/extensions") {
		p := e.(map[string]any)["properties"].(map[string]any)
		exts = append(exts, map[string]any{"name": e.(map[string]any)["name"], "type": p["publisher"].(string) + "." + p["type"].(string)})
	}
	props := map[string]any{}
	for k, v := range vm["properties"].(map[string]any) {
		props[k] = v
	}
	props["instanceView"] = map[string]any{"extensions": exts, "statuses": []any{
		map[string]any{"code": "ProvisioningState/succeeded", "displayStatus": "Provisioning succeeded"},
		map[string]any{"code": "PowerState/running", "displayStatus": "VM running"}}}
	out["properties"] = props
	return out
}

func (a *fakeARM) extensionImages(rq *armRequest) (int, any) {
	parts := strings.Split(strings.Trim(rq.path, "/"), "/")
	loc := parts[5]
	entry := func(name string) map[string]any {
		return map[string]any{"name": name, "location": loc, "id": rq.path + "/" + name}
	}
	switch {
	case len(parts) == 7: // …/locations/{l}/publishers
		return 200, []any{entry("Microsoft.Azure.ActiveDirectory"), entry("Microsoft.Azure.Extensions")}
	case len(parts) == 11 && strings.EqualFold(parts[7], "Microsoft.Azure.ActiveDirectory"): // …/artifacttypes/vmextension/types
		return 200, []any{entry("AADLoginForWindows"), entry("AADSSHLoginForLinux")}
	case len(parts) == 13: // …/types/{t}/versions
		out := []any{}
		for _, v := range a.imageVers {
			out = append(out, entry(v))
		}
		return 200, out
	}
	return 404, armErr("NotFound", "Artifact: VMExtensionType not found")
}

func (a *fakeARM) record(path, method, correlation string) {
	op := typeOf(path) + "/write"
	if method == "DELETE" {
		op = typeOf(path) + "/delete"
	}
	rg := rgOf(canonicalID(path))
	a.events = append(a.events, map[string]any{
		"caller": userName, "correlationId": correlation, "eventTimestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"operationName": map[string]any{"value": op, "localizedValue": op}, "resourceId": canonicalID(path),
		"resourceGroupName": rg[strings.LastIndex(rg, "/")+1:], "status": map[string]any{"value": "Succeeded", "localizedValue": "Succeeded"},
	})
}

var rgFilter = regexp.MustCompile(`resourceGroupName eq '([^']*)'`)

func (a *fakeARM) activity(filter string) []any {
	out := []any{}
	m := rgFilter.FindStringSubmatch(filter)
	for _, e := range a.events {
		if m == nil || e.(map[string]any)["resourceGroupName"] == m[1] {
			out = append(out, e)
		}
	}
	return out
}

func (a *fakeARM) requestLog() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.requests...)
}
