package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Long-running operations, followed as azure-core's ARM polling follows them: an
// Azure-AsyncOperation header names a status resource to poll; else a 202 with a Location
// header is polled until it stops answering 202; else a PUT or PATCH whose resource is not
// yet in a final provisioning state is read again until it is.

const (
	defaultPollInterval = 2 * time.Second
	maxPollInterval     = 60 * time.Second
	maxPolls            = 1800
)

// write sends a PUT, PATCH, POST or DELETE and waits for the operation it starts. It returns
// the final resource; a DELETE returns nil. While it waits, stderr shows az's one-line
// "Running .." progress.
func (c *arm) write(ctx context.Context, method, path, apiVersion string, body any) (map[string]any, error) {
	return c.writeUnless(ctx, method, path, apiVersion, body, nil)
}

// writeUnless is write, except that it returns the first answer without waiting when stop
// (if not nil) says that waiting is pointless.
func (c *arm) writeUnless(ctx context.Context, method, path, apiVersion string, body any, stop func(first map[string]any) bool) (map[string]any, error) {
	resURL := c.url(path, apiVersion, nil)
	out, resp, err := c.start(ctx, method, resURL, body)
	if err != nil || stop != nil && stop(out) {
		return out, err
	}
	op := &operation{c: c, method: method, resURL: resURL, last: resp}
	defer op.endProgress()
	return op.finish(ctx, out)
}

// writeNoWait sends the request and returns the first answer without following the
// operation it starts, as az's --no-wait does.
func (c *arm) writeNoWait(ctx context.Context, method, path, apiVersion string, body any) (map[string]any, error) {
	out, _, err := c.start(ctx, method, c.url(path, apiVersion, nil), body)
	return out, err
}

func (c *arm) start(ctx context.Context, method, resURL string, body any) (map[string]any, *http.Response, error) {
	resp, raw, err := c.send(ctx, method, resURL, body)
	if err != nil {
		return nil, nil, err
	}
	var out map[string]any
	return out, resp, decodeAnswer(resp, raw, &out)
}

// operation is one long-running operation being followed.
type operation struct {
	c      *arm
	method string
	resURL string
	last   *http.Response // the latest answer, for Retry-After
	polls  int            // polls so far, for the progress spinner
}

// spinner is what az's progress line turns through.
var spinner = []string{"|", "/", "-", "\\"}

// progress redraws the one-line progress on stderr before a poll, unless only errors are
// to be shown.
func (op *operation) progress() {
	a := op.c.s.a
	if !a.onlyErrors {
		io.WriteString(a.stderr, "\r"+spinner[op.polls%len(spinner)]+" Running ..")
	}
	op.polls++
}

// endProgress clears the progress line once the operation is over.
func (op *operation) endProgress() {
	if a := op.c.s.a; op.polls > 0 && !a.onlyErrors {
		io.WriteString(a.stderr, "\r"+strings.Repeat(" ", len("| Running .."))+"\r")
	}
}

func (op *operation) finish(ctx context.Context, first map[string]any) (map[string]any, error) {
	async := op.last.Header.Get("Azure-AsyncOperation")
	location := op.last.Header.Get("Location")
	switch {
	case async != "":
		if err := op.pollStatus(ctx, async); err != nil {
			return nil, err
		}
		return op.result(ctx, location)
	case location != "" && op.last.StatusCode == http.StatusAccepted:
		return op.pollLocation(ctx, location)
	case (op.method == http.MethodPut || op.method == http.MethodPatch) && !finalState(provisioningState(first)):
		return op.pollResource(ctx)
	}
	if op.method == http.MethodDelete {
		return nil, nil
	}
	return first, nil
}

// pollStatus polls an Azure-AsyncOperation status resource until it is final.
func (op *operation) pollStatus(ctx context.Context, statusURL string) error {
	for range maxPolls {
		if err := op.wait(ctx, statusURL); err != nil {
			return err
		}
		var st struct {
			Status string `json:"status"`
			Error  struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := op.get(ctx, statusURL, &st); err != nil {
			return err
		}
		switch strings.ToLower(st.Status) {
		case "succeeded":
			return nil
		case "failed", "canceled", "cancelled":
			return operationFailed(st.Status, st.Error.Code, st.Error.Message, op.c.s.a.correlationID)
		}
	}
	return failf("the operation did not finish; check it later with a show command.")
}

// pollLocation polls a Location URL until it stops answering 202 Accepted.
func (op *operation) pollLocation(ctx context.Context, location string) (map[string]any, error) {
	for range maxPolls {
		if err := op.wait(ctx, location); err != nil {
			return nil, err
		}
		var out map[string]any
		if err := op.get(ctx, location, &out); err != nil {
			return nil, err
		}
		if op.last.StatusCode != http.StatusAccepted {
			if op.method == http.MethodPost {
				return out, nil
			}
			return op.result(ctx, "")
		}
	}
	return nil, failf("the operation did not finish; check it later with a show command.")
}

// pollResource reads the resource again until its provisioning state is final.
func (op *operation) pollResource(ctx context.Context) (map[string]any, error) {
	for range maxPolls {
		if err := op.wait(ctx, op.resURL); err != nil {
			return nil, err
		}
		var out map[string]any
		if err := op.get(ctx, op.resURL, &out); err != nil {
			return nil, err
		}
		state := provisioningState(out)
		if strings.EqualFold(state, "Succeeded") {
			return out, nil
		}
		if finalState(state) {
			code, msg := resourceFailure(out, state)
			return nil, operationFailed(state, code, msg, op.c.s.a.correlationID)
		}
	}
	return nil, failf("the operation did not finish; check it later with a show command.")
}

// result is what a finished operation gives: the resource for PUT and PATCH, the Location
// answer for POST, nothing for DELETE.
func (op *operation) result(ctx context.Context, location string) (map[string]any, error) {
	var out map[string]any
	switch {
	case op.method == http.MethodPut || op.method == http.MethodPatch:
		return out, op.get(ctx, op.resURL, &out)
	case op.method == http.MethodPost && location != "":
		return out, op.get(ctx, location, &out)
	}
	return nil, nil
}

func (op *operation) get(ctx context.Context, rawURL string, out any) error {
	if !sameOrigin(rawURL, op.c.server) {
		return failf("the server asked to follow the operation on another host (%s); refusing to send the token there.", rawURL)
	}
	resp, raw, err := op.c.send(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	op.last = resp
	return decodeAnswer(resp, raw, out)
}

// wait sleeps as long as the last answer's Retry-After asks, within bounds.
func (op *operation) wait(ctx context.Context, next string) error {
	d := defaultPollInterval
	if s, err := strconv.Atoi(op.last.Header.Get("Retry-After")); err == nil && s >= 0 {
		d = min(time.Duration(s)*time.Second, maxPollInterval)
	}
	op.c.s.a.debugf("Waiting %s before polling %s", d, next)
	op.progress()
	return op.c.s.a.sleep(ctx, d)
}

func provisioningState(res map[string]any) string {
	props, _ := res["properties"].(map[string]any)
	s, _ := props["provisioningState"].(string)
	return s
}

// finalState reports whether a provisioning state ends an operation; a resource without one
// is taken as done, as ARM's clients do.
func finalState(s string) bool {
	switch strings.ToLower(s) {
	case "", "succeeded", "failed", "canceled", "cancelled":
		return true
	}
	return false
}

// resourceFailure explains a resource that ended in a failed state from its instance view, as
// Azure explains an extension the machine failed to apply: the status at level Error carries
// the machine's code and message.
func resourceFailure(res map[string]any, state string) (string, string) {
	props, _ := res["properties"].(map[string]any)
	iv, _ := props["instanceView"].(map[string]any)
	statuses, _ := iv["statuses"].([]any)
	for _, s := range statuses {
		st, _ := s.(map[string]any)
		if level, _ := st["level"].(string); !strings.EqualFold(level, "Error") {
			continue
		}
		code, _ := st["code"].(string)
		msg, _ := st["message"].(string)
		name, _ := res["name"].(string)
		publisher, _ := props["publisher"].(string)
		typ, _ := props["type"].(string)
		return "VMExtensionProvisioningError", fmt.Sprintf("VM has reported a failure when processing extension '%s' (publisher '%s' and type '%s'). "+
			"Error code: '%s'. Error message: '%s'.", name, publisher, typ, code, msg)
	}
	return "", ""
}

func operationFailed(status, code, message, correlation string) error {
	if code == "" {
		code = "Operation" + status
	}
	if message == "" {
		message = "The operation ended in state '" + status + "'."
	}
	return &apiError{Status: http.StatusOK, Code: code, Message: message, CorrelationID: correlation}
}
