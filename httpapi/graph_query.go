package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/latchsh/latch/errs"
)

// The OData system query options Latch answers: $filter, $top (with @odata.nextLink paging
// through $skiptoken), $select and $count. Any other $-option is refused rather than ignored,
// so a client never mistakes an unsorted or unexpanded answer for what it asked.

// graphQuery is a list request's parsed query options. top is 0 when the caller set none.
type graphQuery struct {
	filter filterExpr
	top    int
	skip   int
	sel    []string // canonical property names; empty selects everything
	count  bool
}

const (
	maxTop       = 999
	maxSelect    = 64
	maxSkipToken = 1 << 20
)

// Filter schemas of the collections. Property names are Graph's.
var (
	userFilterSchema = newFilterSchema("User", map[string]filterKind{"id": filterString,
		"userPrincipalName": filterString, "displayName": filterString, "mail": filterString,
		"mailNickname": filterString, "accountEnabled": filterBool})
	groupFilterSchema = newFilterSchema("Group", map[string]filterKind{"id": filterString,
		"displayName": filterString, "mail": filterString, "mailNickname": filterString,
		"securityEnabled": filterBool})
	servicePrincipalFilterSchema = newFilterSchema("ServicePrincipal", map[string]filterKind{"id": filterString,
		"appId": filterString, "displayName": filterString, "accountEnabled": filterBool,
		"servicePrincipalType": filterString, "servicePrincipalNames": filterStringList})
	applicationFilterSchema = newFilterSchema("Application", map[string]filterKind{"id": filterString,
		"appId": filterString, "displayName": filterString})
	roleDefinitionFilterSchema = newFilterSchema("UnifiedRoleDefinition", map[string]filterKind{"id": filterString,
		"templateId": filterString, "displayName": filterString, "isBuiltIn": filterBool})
	roleAssignmentFilterSchema = newFilterSchema("UnifiedRoleAssignment", map[string]filterKind{"id": filterString,
		"principalId": filterString, "roleDefinitionId": filterString, "directoryScopeId": filterString})
	// directoryObjectFilterSchema serves lists that mix users, groups and service principals.
	directoryObjectFilterSchema = newFilterSchema("DirectoryObject", map[string]filterKind{"id": filterString,
		"userPrincipalName": filterString, "displayName": filterString, "mail": filterString,
		"mailNickname": filterString, "appId": filterString, "accountEnabled": filterBool,
		"servicePrincipalNames": filterStringList})
)

// parseGraphQuery reads r's query options for a list whose objects look like sample.
func parseGraphQuery(r *http.Request, schema filterSchema, sample map[string]any) (graphQuery, error) {
	const op = "httpapi.parseGraphQuery"
	var q graphQuery
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return q, errs.E(op, errs.Invalid, errs.Code("BadRequest"), "The query string is not valid URL encoding.")
	}
	for name, vs := range values {
		if !strings.HasPrefix(name, "$") {
			continue
		}
		if len(vs) != 1 {
			return q, errs.E(op, errs.Invalid, errs.Code("BadRequest"), fmt.Sprintf("Query option '%s' was given more than once.", name))
		}
		if err := q.set(strings.ToLower(name), vs[0], schema, sample); err != nil {
			return q, err
		}
	}
	return q, nil
}

// set applies one query option.
func (q *graphQuery) set(name, v string, schema filterSchema, sample map[string]any) error {
	const op = "httpapi.parseGraphQuery"
	var err error
	switch name {
	case "$filter":
		q.filter, err = parseFilter(v, schema)
	case "$top":
		q.top, err = parseBoundedInt(v, "$top", 1, maxTop)
	case "$skiptoken":
		q.skip, err = parseBoundedInt(v, "$skiptoken", 0, maxSkipToken)
	case "$select":
		q.sel, err = parseSelect(v, sample)
	case "$count":
		q.count, err = strconv.ParseBool(v)
		if err != nil {
			err = errs.E(op, errs.Invalid, errs.Code("BadRequest"), "$count must be true or false.")
		}
	default:
		err = errs.E(op, errs.Invalid, errs.Code("Request_UnsupportedQuery"), fmt.Sprintf(
			"The query option '%s' is not supported here; use $filter, $top, $select or $count.", name))
	}
	return err
}

func parseBoundedInt(v, name string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errs.E("httpapi.parseGraphQuery", errs.Invalid, errs.Code("BadRequest"),
			fmt.Sprintf("Invalid value '%s' for %s: give a whole number from %d to %d.", truncate(v, 32), name, lo, hi))
	}
	return n, nil
}

// parseSelect resolves a comma-separated $select against the properties of sample,
// case-insensitively, into their canonical names.
func parseSelect(v string, sample map[string]any) ([]string, error) {
	names := strings.Split(v, ",")
	if len(names) > maxSelect {
		return nil, errs.E("httpapi.parseSelect", errs.Invalid, errs.Code("BadRequest"), fmt.Sprintf("$select may list at most %d properties.", maxSelect))
	}
	var out []string
	for _, n := range names {
		canon, ok := lookupFold(sample, strings.TrimSpace(n))
		if !ok || strings.HasPrefix(canon, "@") {
			return nil, errs.E("httpapi.parseSelect", errs.Invalid, errs.Code("BadRequest"), fmt.Sprintf(
				"Could not find a property named '%s' on type '%s'.", truncate(strings.TrimSpace(n), 64), strings.TrimPrefix(fmt.Sprint(sample["@odata.type"]), "#")))
		}
		out = append(out, canon)
	}
	return out, nil
}

// lookupFold finds the key of m equal to name under case folding.
func lookupFold(m map[string]any, name string) (string, bool) {
	for k := range m {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// project keeps only the selected properties of obj, and its @odata.type.
func project(obj map[string]any, sel []string) map[string]any {
	if len(sel) == 0 {
		return obj
	}
	out := make(map[string]any, len(sel)+1)
	if t, ok := obj["@odata.type"]; ok {
		out["@odata.type"] = t
	}
	for _, k := range sel {
		out[k] = obj[k]
	}
	return out
}

// sortObjects orders a list by display name, then id, so pages stay stable between requests.
func sortObjects(objs []map[string]any) {
	sort.SliceStable(objs, func(i, j int) bool {
		a, _ := objs[i]["displayName"].(string)
		b, _ := objs[j]["displayName"].(string)
		if la, lb := strings.ToLower(a), strings.ToLower(b); la != lb {
			return la < lb
		}
		ai, _ := objs[i]["id"].(string)
		bi, _ := objs[j]["id"].(string)
		return ai < bi
	})
}
