package imds

import (
	"net/http"
	"net/url"
)

// Query parameters naming a user-assigned identity. IMDS spells the resource id msi_res_id,
// its old documents and App Service mi_res_id; App Service says principal_id for object_id.
var (
	imdsSelectors       = []string{"client_id", "object_id", "msi_res_id", "mi_res_id"}
	appServiceSelectors = []string{"client_id", "object_id", "principal_id", "mi_res_id"}
)

// serveIdentityInfo answers {"tenantId":…} from the system-assigned identity.
//
// A machine without one gets 400 invalid_request "Identity not found", the token endpoint's
// answer for the same fact. This is the failure the login extension reports as 1007
// (DSREG_E_MSI_TENANTID_UNAVAILABLE); it must not be a 404, which Azure's clients retry for
// about 70 seconds, turning a plain "assign an identity" into a minute of silence. Only the
// system-assigned identity counts, as the extension requires that one.
func (s *Server) serveIdentityInfo(w http.ResponseWriter, r *http.Request, _ request) {
	ids, err := s.src.Identities(r.Context())
	if err != nil {
		s.cfg.Logger.Error("imds: listing identities", "err", err)
		errInternal.write(w, identityFamily)
		return
	}
	id, ok := systemAssigned(ids)
	if !ok {
		errNoIdentity.write(w, identityFamily)
		return
	}
	b, ok := s.idLim.acquire(id.ObjectID)
	if !ok {
		errTooMany.write(w, identityFamily)
		return
	}
	defer s.idLim.release(b)
	writeJSON(w, http.StatusOK, struct {
		TenantID string `json:"tenantId"`
	}{id.TenantID})
}

func systemAssigned(ids []Identity) (Identity, bool) {
	for _, id := range ids {
		if id.SystemAssigned {
			return id, true
		}
	}
	return Identity{}, false
}

// selectIdentity finds the identity a token request names with one of names, or the default
// one when it names none: the system-assigned identity, else the only user-assigned one.
// x may be nil (no index: every list is scanned).
func selectIdentity(x *identityIndexes, ids []Identity, q url.Values, names []string) (Identity, refusal, bool) {
	name, value, ref, bad := selector(q, names)
	if bad {
		return Identity{}, ref, true
	}
	if name == "" {
		return defaultIdentity(ids)
	}
	if i := x.find(ids, name, value); i >= 0 {
		return ids[i], refusal{}, false
	}
	return Identity{}, errNoIdentity, true
}

// selector returns the one identity parameter present, refusing more than one.
func selector(q url.Values, names []string) (name, value string, ref refusal, bad bool) {
	for _, n := range names {
		if !q.Has(n) {
			continue
		}
		if name != "" {
			return "", "", errSelectors, true
		}
		name, value = n, q.Get(n)
	}
	return name, value, refusal{}, false
}

func defaultIdentity(ids []Identity) (Identity, refusal, bool) {
	if id, ok := systemAssigned(ids); ok {
		return id, refusal{}, false
	}
	switch len(ids) {
	case 0:
		return Identity{}, errNoIdentity, true
	case 1:
		return ids[0], refusal{}, false
	}
	return Identity{}, errManyIdentities, true
}

// idField is the identity's value for a selector. GUIDs and ARM ids compare case-insensitively.
func idField(id Identity, name string) string {
	switch name {
	case "client_id":
		return id.ClientID
	case "object_id", "principal_id":
		return id.ObjectID
	default:
		return id.ResourceID
	}
}
