package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchsh/latch/errs"
	"github.com/latchsh/latch/resource"
	"github.com/latchsh/latch/store"
)

// hostUseGranularity: a remembered host's last use is rewritten at most this often, so a
// burst of connections to one machine costs one store write, not one each.
const hostUseGranularity = time.Minute

// SuberrorHostConsent is the suberror of an ssh-cert request for a machine the person has
// not allowed yet (or not within store.RememberHostFor); the client asks and retries with
// host_consent set to the VM's resource id.
const SuberrorHostConsent = "host_consent_required"

// checkRememberedHost applies the article's rule: the person allows the connection to a
// machine the first time, and Latch remembers up to store.MaxRememberedHosts machines per
// person for store.RememberHostFor. consent true records (or renews) vm; a remembered vm has
// its last use refreshed.
//
// Errors: interaction_required with suberror host_consent_required when vm is not remembered
// and consent is false; the store's errors otherwise.
func (s *Server) checkRememberedHost(ctx context.Context, tenantID, userID string, vm resource.Resource, consent bool) error {
	const op = "httpapi.checkRememberedHost"
	now := s.now()
	if !consent {
		hs, err := s.Store.GetRememberedHosts(ctx, tenantID, userID)
		if err != nil {
			return err
		}
		h, ok := hs.Find(vm.ID, now)
		if !ok {
			return &caRefusal{err: errs.E(op, errs.Unauthenticated, errs.Code("interaction_required"), hostConsentQuestion(vm)+" "+s.hostConsentInvite(tenantID, vm)),
				suberror: SuberrorHostConsent}
		}
		if now.Sub(h.LastUsed) < hostUseGranularity {
			return nil
		}
	}
	_, err := s.Store.UpdateRememberedHosts(ctx, tenantID, userID, func(hs store.RememberedHosts) (store.RememberedHosts, error) {
		if consent {
			return hs.Allow(vm.ID, vm.Name, now), nil
		}
		return hs.Use(vm.ID, now), nil
	})
	return err
}

// hostConsentQuestion is what the person is asked; the CLI and the pages show it as it is.
func hostConsentQuestion(vm resource.Resource) string {
	return "Allow the connection to " + vm.Name + "? Latch asks the first time you connect to a machine and remembers up to 15 machines for 30 days."
}

// hostConsentInvite names the question's page (web_hostconsent.go), for clients that cannot
// ask themselves: a person reading a script's log can answer there and run it again.
func (s *Server) hostConsentInvite(tenantID string, vm resource.Resource) string {
	return "You can answer at " + s.URL + "/" + tenantID + "/ssh/hostconsent?" + url.Values{"vm": {vm.ID}}.Encode()
}

// sshHostConsent reads an ssh-cert request's host_consent parameter and applies the
// remembered-host rule for vm. host_consent, when present, must name the requested VM, so a
// client cannot carry one consent over to another machine.
//
// Errors: invalid_request when host_consent names another VM; those of checkRememberedHost.
func (s *Server) sshHostConsent(r *http.Request, tenantID, userID string, vm resource.Resource) error {
	const op = "httpapi.sshHostConsent"
	consent := r.PostForm.Get("host_consent")
	if consent != "" && !strings.EqualFold(consent, vm.ID) {
		return oauthErr(op, errs.Invalid, "invalid_request", "The host_consent parameter must be the vm_id of the request.")
	}
	return s.checkRememberedHost(r.Context(), tenantID, userID, vm, consent != "")
}
