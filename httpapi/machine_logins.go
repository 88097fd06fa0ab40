package httpapi

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchsh/latch/conditional"
	"github.com/latchsh/latch/directory"
	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/machineapi"
	"github.com/latchsh/latch/signinlog"
	"github.com/latchsh/latch/store"
)

// A machine ships the logins it decided (allowed and refused) to POST machineapi.PathLogins,
// and each becomes an entry of the tenant's sign-in log beside the token request that issued
// the certificate (they share the correlation id). The machine resends what it is not sure
// was taken, so each event is kept once: its entry id is derived from the machine and the
// event id, and an entry that exists already counts as taken.

// routeMachineLogins is the route machineRoutes registers.
const routeMachineLogins = "POST " + machineapi.PathLogins

// maxLoginEvents caps one call; the agent sends at most this many.
const maxLoginEvents = 100

// loginEventsBody is the body of POST machineapi.PathLogins.
type loginEventsBody struct {
	Value []machineapi.LoginEvent `json:"value"`
}

// Error numbers of refused machine logins, Entra's where one fits.
const (
	codeMachineLoginNotAssigned = 50105 // the user holds no login role on the VM
	codeMachineLoginBlockedByCA = 53003 // Conditional Access blocks or asks for other methods
	codeMachineLoginRefused     = 50000 // any other refusal (certificate, stale rules)
)

// The refusal texts the agent writes; see agent/decide.go.
const (
	machineReasonNotAllowed = "Your account is configured to prevent you from using this device."
	machineReasonMethod     = "The sign-in method you're trying to use isn't allowed."
)

// machineLogins appends the machine's login events to its tenant's sign-in log.
func (s *Server) machineLogins(w http.ResponseWriter, r *http.Request, m store.Machine) error {
	const op = "httpapi.machineLogins"
	var b loginEventsBody
	if err := readJSON(r, &b); err != nil {
		return err
	}
	if len(b.Value) == 0 || len(b.Value) > maxLoginEvents {
		return errs.E(op, errs.Invalid, errs.Code("BadRequest"), fmt.Sprintf("Send between 1 and %d login events per call.", maxLoginEvents))
	}
	for i, ev := range b.Value {
		if err := checkLoginEvent(ev, s.now()); err != nil {
			return errs.E(op, errs.Invalid, errs.Code("BadRequest"), fmt.Sprintf("Login event %d: %s", i, err))
		}
	}
	for _, ev := range b.Value {
		e, err := s.machineLoginEntry(r.Context(), m, ev)
		if err == nil {
			err = s.Store.AppendSignIn(r.Context(), m.TenantID, e)
		}
		if err != nil && !errs.Is(err, errs.Exists) {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkLoginEvent refuses an event whose fields could not have come from an agent: every
// string is bounded and printable, ids have their shapes, the time is not in the future.
func checkLoginEvent(ev machineapi.LoginEvent, now time.Time) error {
	fields := []struct {
		name, v string
		max     int
	}{{"id", ev.ID, 64}, {"user", ev.User, 256}, {"objectId", ev.ObjectID, 36}, {"userPrincipalName", ev.UPN, 256},
		{"keyId", ev.KeyID, 1024}, {"correlationId", ev.CorrelationID, 64}, {"address", ev.Address, 64}, {"reason", ev.Reason, 2048}}
	for _, f := range fields {
		if len(f.v) > f.max || !utf8.ValidString(f.v) || strings.ContainsFunc(f.v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return fmt.Errorf("%s must be printable text of at most %d bytes", f.name, f.max)
		}
	}
	switch {
	case ev.ID == "" || strings.ContainsFunc(ev.ID, func(r rune) bool { return !isIDRune(r) }):
		return fmt.Errorf("id must be letters, digits and '-'")
	case ev.User == "":
		return fmt.Errorf("user is required")
	case ev.ObjectID != "" && !directory.IsGUID(ev.ObjectID):
		return fmt.Errorf("objectId must be a GUID")
	case ev.Address != "" && !validAddr(ev.Address):
		return fmt.Errorf("address must be an IP address")
	case ev.Time.IsZero() || ev.Time.After(now.Add(5*time.Minute)):
		return fmt.Errorf("time must be set and not in the future")
	}
	return nil
}

func isIDRune(r rune) bool {
	return r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

func validAddr(s string) bool { _, err := netip.ParseAddr(s); return err == nil }

// machineLoginEntry is the sign-in log entry of one event. A user found in the machine's
// tenant is named as the directory has them; an object id the tenant does not hold is not
// named as a user of it (the event is still kept: refused logins matter most), and the
// certificate's claims go to the entry's details.
func (s *Server) machineLoginEntry(ctx context.Context, m store.Machine, ev machineapi.LoginEvent) (signinlog.Entry, error) {
	in := signinlog.Input{ID: machineLoginEntryID(m, ev.ID), Time: ev.Time, CorrelationID: ev.CorrelationID,
		UserPrincipalName: ev.UPN, AppID: directory.LinuxVMSignInAppID, AppDisplayName: "Azure Linux VM Sign-In",
		ResourceID: m.ResourceID, ResourceDisplayName: vmNameOf(m.ResourceID), ClientAppUsed: "Mobile Apps and Desktop clients",
		Interactive: true, Flow: signinlog.FlowMachineLogin, SSHCertificateKey: ev.KeyID, MachineResourceID: m.ResourceID,
		LocalAccount: ev.User}
	in.Address, _ = netip.ParseAddr(ev.Address)
	var unknown bool
	if ev.ObjectID != "" {
		u, err := s.Store.GetUser(ctx, m.TenantID, ev.ObjectID)
		switch {
		case err == nil:
			in.UserID, in.UserPrincipalName, in.UserDisplayName = u.ID, u.UserPrincipalName, u.DisplayName
		case errs.Is(err, errs.NotFound):
			unknown = true
		default:
			return signinlog.Entry{}, err
		}
	}
	if !ev.Allowed {
		in.AuthError = &signinlog.Status{ErrorCode: machineLoginCode(ev.Reason), FailureReason: ev.Reason}
	}
	e := signinlog.New(in, conditional.Result{Status: conditional.StatusNotApplied})
	e.Status.AdditionalDetails = machineLoginDetails(ev, unknown)
	return e, nil
}

// machineLoginDetails says what the log's fields cannot: cached rules, an administrator
// login, the certificate's serial, and an object id the tenant does not know.
func machineLoginDetails(ev machineapi.LoginEvent, unknown bool) string {
	var d []string
	if ev.Admin {
		d = append(d, "administrator login")
	}
	if ev.Stale {
		d = append(d, "decided from cached rules while the control plane was unreachable")
	}
	if ev.Serial != 0 {
		d = append(d, fmt.Sprintf("certificate serial %d", ev.Serial))
	}
	if unknown {
		d = append(d, "the certificate's object id "+ev.ObjectID+" is not a user of this tenant")
	}
	if ev.Allowed && ev.Reason != "" {
		d = append(d, ev.Reason)
	}
	return strings.Join(d, "; ")
}

func machineLoginCode(reason string) int {
	switch {
	case strings.HasPrefix(reason, machineReasonMethod), strings.Contains(reason, "blocked by Conditional Access"):
		return codeMachineLoginBlockedByCA
	case strings.HasPrefix(reason, machineReasonNotAllowed):
		return codeMachineLoginNotAssigned
	}
	return codeMachineLoginRefused
}

// machineLoginEntryID is a GUID-shaped id derived from the machine and the event id, so the
// same event sent twice is the same entry and two machines' ids never meet.
func machineLoginEntryID(m store.Machine, eventID string) string {
	h := sha256.Sum256([]byte("machine-login|" + m.TenantID + "|" + m.ID + "|" + eventID))
	h[6] = h[6]&0x0f | 0x50 // the version and variant bits of a name-based UUID
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// vmNameOf is the VM's name, the last segment of its id.
func vmNameOf(id string) string { return id[strings.LastIndexByte(id, '/')+1:] }
