package httpapi

import (
	"net/http"
	"time"

	"github.com/latchsh/latch/authn"
	"github.com/latchsh/latch/errs"
)

// tapCreate is the body of POST …/temporaryAccessPassMethods, with Graph's field names.
type tapCreate struct {
	StartDateTime     *graphDateTime `json:"startDateTime"`
	LifetimeInMinutes *int           `json:"lifetimeInMinutes"`
	IsUsableOnce      *bool          `json:"isUsableOnce"`
}

// Graph's default lifetime and how far ahead a pass may start.
const (
	defaultTAPMinutes = 60
	maxTAPStartAhead  = 30 * 24 * time.Hour
)

// createTAP issues a Temporary Access Pass. A user holds at most one, as in Entra: a pass that
// is still usable must be deleted first; spent or expired ones are replaced.
func (s *Server) createTAP(w http.ResponseWriter, r *http.Request, c Caller) error {
	const op = "httpapi.createTAP"
	ctx := r.Context()
	u, err := s.authMethodsTarget(r, c)
	if err != nil {
		return err
	}
	var body tapCreate
	if err := readGraphJSON(r, &body); err != nil {
		return err
	}
	now := s.now()
	start, err := body.start(now)
	if err != nil {
		return err
	}
	minutes := defaultTAPMinutes
	if body.LifetimeInMinutes != nil {
		minutes = *body.LifetimeInMinutes
	}
	existing, err := s.Store.ListTemporaryAccessPasses(ctx, c.TenantID, u.ID)
	if err != nil {
		return err
	}
	for _, p := range existing {
		if tapJSON(p, now)["isUsable"] == true || now.Before(p.Start) {
			return graphBadRequest(op, "The user "+u.UserPrincipalName+" already has a Temporary Access Pass; delete it before creating another.")
		}
	}
	pass, tap, err := authn.NewTemporaryAccessPass(c.TenantID, u.ID, time.Duration(minutes)*time.Minute,
		body.IsUsableOnce != nil && *body.IsUsableOnce, start)
	if err != nil {
		return asGraphError(op, u.ID, err)
	}
	tap.Created = now.UTC()
	for _, p := range existing {
		if err := s.Store.DeleteTemporaryAccessPass(ctx, c.TenantID, p.ID); err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	if err := s.Store.CreateTemporaryAccessPass(ctx, tap); err != nil {
		return err
	}
	out := tapJSON(tap, now)
	out["temporaryAccessPass"] = pass
	out["@odata.context"] = s.odataContext(r, tapSet+"/$entity")
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// start is when the pass becomes valid: now, or a requested time no more than 30 days ahead.
func (b tapCreate) start(now time.Time) (time.Time, error) {
	if b.StartDateTime == nil || b.StartDateTime.Before(now) {
		return now, nil
	}
	if b.StartDateTime.Sub(now) > maxTAPStartAhead {
		return now, graphBadRequest("httpapi.createTAP", "The startDateTime of a Temporary Access Pass may be at most 30 days ahead.")
	}
	return b.StartDateTime.Time, nil
}
