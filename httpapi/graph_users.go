package httpapi

import (
	"context"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/token"
)

// Password length bounds until the full password policy lands.
const (
	minPasswordLen = 12
	maxPasswordLen = 256
)

// userJSON is Graph's user resource. The password hash never leaves the store.
func userJSON(u directory.User) map[string]any {
	local, _, _ := strings.Cut(u.UserPrincipalName, "@")
	if u.MailNickname != "" {
		local = u.MailNickname
	}
	return map[string]any{
		"@odata.type":       "#microsoft.graph.user",
		"id":                u.ID,
		"userPrincipalName": u.UserPrincipalName,
		"displayName":       u.DisplayName,
		"mail":              nullIfEmpty(u.Mail),
		"mailNickname":      local,
		"accountEnabled":    u.AccountEnabled,
		"createdDateTime":   graphTime(u.Created),
		"userType":          "Member",
		"businessPhones":    []string{},
		"givenName":         nil,
		"surname":           nil,
		"jobTitle":          nil,
		"mobilePhone":       nil,
		"officeLocation":    nil,
		"preferredLanguage": nil,
	}
}

// lookupUser finds a user of the tenant by object id or user principal name.
func (s *Server) lookupUser(ctx context.Context, tenantID, idOrUPN string) (directory.User, error) {
	var u directory.User
	var err error
	if directory.IsGUID(idOrUPN) {
		u, err = s.Store.GetUser(ctx, tenantID, strings.ToLower(idOrUPN))
	} else {
		u, err = s.Store.GetUserByUPN(ctx, tenantID, idOrUPN)
	}
	return u, asGraphError("httpapi.lookupUser", idOrUPN, err)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c Caller) error {
	if err := s.authorizeRead(r.Context(), c, "users"); err != nil {
		return err
	}
	q, err := parseGraphQuery(r, userFilterSchema, userJSON(directory.User{}))
	if err != nil {
		return err
	}
	users, err := s.Store.ListUsers(r.Context(), c.TenantID)
	if err != nil {
		return err
	}
	objs := make([]map[string]any, len(users))
	for i, u := range users {
		objs[i] = userJSON(u)
	}
	s.writeGraphList(w, r, "users", objs, q)
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c Caller) error {
	if err := s.authorizeRead(r.Context(), c, "users"); err != nil {
		return err
	}
	u, err := s.lookupUser(r.Context(), c.TenantID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.writeGraphEntity(w, r, http.StatusOK, "users", userJSON(u))
}

// getMe answers /me: the signed-in user. Application tokens have no "me".
func (s *Server) getMe(w http.ResponseWriter, r *http.Request, c Caller) error {
	if c.PrincipalType != token.PrincipalUser {
		return errs.E("httpapi.getMe", errs.Invalid, errs.Code("BadRequest"),
			"/me request is only valid with delegated authentication flow.")
	}
	u, err := s.lookupUser(r.Context(), c.TenantID, c.ObjectID)
	if err != nil {
		return err
	}
	return s.writeGraphEntity(w, r, http.StatusOK, "users", userJSON(u))
}

// passwordProfile is Graph's passwordProfile in request bodies.
type passwordProfile struct {
	Password                             string `json:"password"`
	ForceChangePasswordNextSignIn        *bool  `json:"forceChangePasswordNextSignIn"`
	ForceChangePasswordNextSignInWithMfa *bool  `json:"forceChangePasswordNextSignInWithMfa"`
}

// hash checks the password's length and hashes it. Graph's default forces a change at the
// next sign-in when the field is absent.
func (p *passwordProfile) hash(s *Server) (directory.Password, error) {
	const op = "httpapi.passwordProfile"
	n := utf8.RuneCountInString(p.Password)
	if n < minPasswordLen || n > maxPasswordLen {
		return directory.Password{}, graphBadRequest(op,
			"The specified password does not comply with password complexity requirements: use 12 to 256 characters.")
	}
	h, err := authn.HashPassword(p.Password)
	if err != nil {
		return directory.Password{}, errs.E(op, errs.Internal, err)
	}
	force := p.ForceChangePasswordNextSignIn == nil || *p.ForceChangePasswordNextSignIn
	return directory.Password{Hash: h, ForceChangePasswordNextSignIn: force, LastChanged: s.now()}, nil
}

// userCreate is the body of POST /users, with Graph's field names.
type userCreate struct {
	AccountEnabled    *bool            `json:"accountEnabled"`
	DisplayName       string           `json:"displayName"`
	MailNickname      string           `json:"mailNickname"`
	UserPrincipalName string           `json:"userPrincipalName"`
	Mail              string           `json:"mail"`
	PasswordProfile   *passwordProfile `json:"passwordProfile"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.createUser"
	if err := s.authorizeWrite(r.Context(), c, "users", directory.ActionCreate); err != nil {
		return err
	}
	var body userCreate
	if err := readGraphJSON(r, &body); err != nil {
		return err
	}
	u, err := s.newUserFrom(r.Context(), c, body)
	if err != nil {
		return err
	}
	if err := s.Store.CreateUser(r.Context(), u); err != nil {
		return userWriteError(op, u.UserPrincipalName, err)
	}
	if u, err = s.Store.GetUser(r.Context(), c.TenantID, u.ID); err != nil {
		return err
	}
	return s.writeGraphEntity(w, r, http.StatusCreated, "users", userJSON(u))
}

// newUserFrom validates a create body into a user of the caller's tenant.
func (s *Server) newUserFrom(ctx context.Context, c Caller, body userCreate) (directory.User, error) {
	const op = "httpapi.createUser"
	if body.AccountEnabled == nil {
		return directory.User{}, graphBadRequest(op, "Property 'accountEnabled' is required when creating a user.")
	}
	if body.MailNickname != "" && !validNickname(body.MailNickname) {
		return directory.User{}, graphBadRequest(op, "The mailNickname may use only letters, digits, '.', '-' and '_', up to 64 characters.")
	}
	tenant, err := s.Store.GetTenant(ctx, c.TenantID)
	if err != nil {
		return directory.User{}, err
	}
	u := directory.User{ID: newID(), TenantID: c.TenantID, UserPrincipalName: strings.TrimSpace(body.UserPrincipalName),
		DisplayName: body.DisplayName, Mail: body.Mail, MailNickname: body.MailNickname, AccountEnabled: *body.AccountEnabled}
	if err := u.Validate(tenant.DefaultDomain); err != nil {
		return u, asGraphError(op, "", err)
	}
	if body.PasswordProfile != nil {
		// Without a password profile the user is passwordless and onboards with a
		// Temporary Access Pass.
		if u.Password, err = body.PasswordProfile.hash(s); err != nil {
			return u, err
		}
	}
	return u, nil
}

func validNickname(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(isIdentByte(byte(c)) && c < utf8.RuneSelf || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// userWriteError turns the store's Exists into Graph's 400 for a taken UPN.
func userWriteError(op, upn string, err error) error {
	if errs.Is(err, errs.Exists) {
		return graphBadRequest(op, "Another object with the same value for property userPrincipalName already exists.")
	}
	return asGraphError(op, upn, err)
}
