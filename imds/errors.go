package imds

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// family says which error body shape a path answers with: the instance paths write Azure's
// {"error":"Bad request. …"}, the identity paths OAuth's {"error":code,"error_description":…}.
type family int

const (
	instanceFamily family = iota
	identityFamily
)

// refusal is a request the service will not answer, with what the caller is told.
type refusal struct {
	status int
	code   string // identity family: the "error" value
	msg    string // instance family: the "error" value; identity family: "error_description"
	text   string // instance family, when its words differ from msg
	// versions adds "newest-versions", as Azure's api-version refusals do.
	versions bool
}

// Azure's refusals, by the words of its documentation where it has some.
var (
	errNoMetadata = refusal{status: 400, code: "bad_request_102",
		msg: "Required metadata header not specified", text: "Bad request. Required metadata header not specified"}
	errNoVersion = refusal{status: 400, code: "invalid_request", versions: true,
		msg: "Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds"}
	errBadVersion = refusal{status: 400, code: "invalid_request", versions: true,
		msg: "Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds"}
	errForwarded = refusal{status: 400, code: "invalid_request",
		msg: "Bad request. Requests relayed through a proxy (X-Forwarded-For, Forwarded) are refused"}
	errHost = refusal{status: 400, code: "invalid_request",
		msg: "Bad request. The Host header names a host this service does not serve"}
	errDuplicate = refusal{status: 400, code: "invalid_request",
		msg: "Bad request. Query parameters may not be repeated"}
	errQuery = refusal{status: 400, code: "invalid_request",
		msg: "Bad request. The query string is malformed or too long"}
	errNotLocal = refusal{status: 403, code: "forbidden",
		msg: "Only programs on this machine may use the instance metadata service"}
	errNotFound = refusal{status: 404, code: "not_found", msg: "Not found"}
	errMethod   = refusal{status: 405, code: "method_not_allowed", msg: "Method not allowed"}
	errTooMany  = refusal{status: 429, code: "too_many_requests",
		msg: "Too many requests. Retry after a second"}
	errInternal = refusal{status: 500, code: "unknown",
		msg: "Failed to get a token from the control plane; try again"}
	errNoIdentity = refusal{status: 400, code: "invalid_request", msg: "Identity not found"}
	errNoAudience = refusal{status: 400, code: "invalid_request",
		msg: "Required audience parameter not specified"}
	errSelectors = refusal{status: 400, code: "invalid_request",
		msg: "Only one of client_id, object_id, principal_id, msi_res_id and mi_res_id may be given"}
	errManyIdentities = refusal{status: 400, code: "invalid_request",
		msg: "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request"}
	errIdentityHeader = refusal{status: 401, code: "unauthorized",
		msg: "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER"}
	errLeaf = refusal{status: 400, code: "invalid_request",
		msg: "Bad request. A leaf node can only be read with format=text"}
	errFormat = refusal{status: 400, code: "invalid_request",
		msg: "Bad request. format must be json or text"}
)

// errInvalidResource is Entra's answer for an audience it does not know.
func errInvalidResource(resource string) refusal {
	return refusal{status: 400, code: "invalid_resource",
		msg: "AADSTS50001: The application named " + resource +
			" was not found in the tenant. This can happen if the application has not been installed by the administrator of the tenant."}
}

// write sends r in the body shape of fam. The status line's reason phrase is Go's standard one
// ("400 Bad Request"), which az's client_id → object_id fallback matches on.
func (r refusal) write(w http.ResponseWriter, fam family) {
	var body any
	switch {
	case r.versions:
		body = struct {
			Error    string   `json:"error"`
			Versions []string `json:"newest-versions"`
		}{r.msg, newestVersions}
	case fam == instanceFamily:
		msg := r.msg
		if r.text != "" {
			msg = r.text
		}
		body = struct {
			Error string `json:"error"`
		}{msg}
	default:
		body = struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}{r.code, r.msg}
	}
	writeJSON(w, r.status, body)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"unknown"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
