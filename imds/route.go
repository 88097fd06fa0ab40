package imds

import (
	"net/http"
	"strings"
)

// versionRule says which api-version values a path accepts.
type versionRule int

const (
	versionNone       versionRule = iota // not read (versions list, Cloud Shell)
	versionAny                           // any supported version
	versionIdentity                      // a supported version ≥ 2018-02-01
	versionAppService                    // exactly 2019-08-01
)

// route is one path of the service and the rules it adds to the common ones.
type route struct {
	fam            family
	method         string
	metadata       bool // requires "Metadata: true"
	identityHeader bool // requires X-IDENTITY-HEADER (App Service)
	form           bool // parameters in a POSTed form (Cloud Shell)
	version        versionRule
	serve          func(s *Server, w http.ResponseWriter, r *http.Request, req request)
}

var (
	versionsRoute = route{fam: instanceFamily, method: http.MethodGet, metadata: true,
		version: versionNone, serve: (*Server).serveVersions}
	instanceRoute = route{fam: instanceFamily, method: http.MethodGet, metadata: true,
		version: versionAny, serve: (*Server).serveInstance}
	infoRoute = route{fam: identityFamily, method: http.MethodGet, metadata: true,
		version: versionIdentity, serve: (*Server).serveIdentityInfo}
	tokenRoute = route{fam: identityFamily, method: http.MethodGet, metadata: true,
		version: versionIdentity, serve: (*Server).serveIMDSToken}
	appServiceRoute = route{fam: identityFamily, method: http.MethodGet, identityHeader: true,
		version: versionAppService, serve: (*Server).serveAppServiceToken}
	cloudShellRoute = route{fam: identityFamily, method: http.MethodPost, metadata: true, form: true,
		version: versionNone, serve: (*Server).serveCloudShellToken}
)

// Paths of the protocols besides IMDS. The agent sets IDENTITY_ENDPOINT and MSI_ENDPOINT to
// them on the loopback listener; the paths are those App Service and Cloud Shell use.
const (
	AppServicePath = "/msi/token"
	CloudShellPath = "/oauth2/token"
)

const instancePath = "/metadata/instance"

// match finds the route of path. Paths are matched as written, never cleaned: a cleaned path
// is what ServeMux answers with a redirect, and this service does not redirect. One trailing
// slash is ignored, as Azure ignores it.
func match(path string) (route, []string, bool) {
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	switch {
	case path == "/metadata/versions":
		return versionsRoute, nil, true
	case path == instancePath:
		return instanceRoute, nil, true
	case strings.HasPrefix(path, instancePath+"/"):
		return instanceRoute, strings.Split(path[len(instancePath)+1:], "/"), true
	case path == "/metadata/identity/info":
		return infoRoute, nil, true
	case path == "/metadata/identity/oauth2/token":
		return tokenRoute, nil, true
	case strings.EqualFold(path, AppServicePath):
		return appServiceRoute, nil, true
	case path == CloudShellPath:
		return cloudShellRoute, nil, true
	}
	return route{fam: instanceFamily}, nil, false
}

// checkVersion applies rt's api-version rule.
func checkVersion(rt route, v string) (refusal, bool) {
	switch {
	case rt.version == versionNone:
		return refusal{}, false
	case v == "":
		return errNoVersion, true
	case rt.version == versionAppService:
		return errBadVersion, v != appServiceVersion
	case !supportedVersion(v), rt.version == versionIdentity && !since(v, minIdentityVersion):
		return errBadVersion, true
	}
	return refusal{}, false
}
