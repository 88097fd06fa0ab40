package signinlog

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// Every token issuance writes one entry, so the log's encoding is on the issuance's budget,
// and so are the bytes the database writes for it. encoding/json walks Entry by reflection on
// every call and writes every field, empty or not (an app's sign-in is mostly empty fields:
// no user, no device, no policies). AppendJSON writes directly and leaves out what reads back
// as the zero value anyway: empty strings, false, 0 and nil lists (empty non-nil lists stay,
// as [], since Graph shows them so). The tests hold that json.Unmarshal reads its output as
// the same Entry it reads from json.Marshal's; a field added to Entry must be added here too,
// and the tests fail until it is.

// errJSONTime is AppendJSON's refusal of a time encoding/json cannot write either.
var errJSONTime = errors.New("signinlog: a time outside the years 0 to 9999 has no JSON form")

// AppendJSON appends e's compact JSON to b: json.Marshal(e) less the fields holding their
// zero value, so that json.Unmarshal reads back the same Entry from either. It fails, as
// json.Marshal does, only for a time whose year lies outside 0 to 9999.
func (e *Entry) AppendJSON(b []byte) ([]byte, error) {
	w := jsonWriter{b: b}
	w.open("")
	w.str("id", e.ID)
	w.time("createdDateTime", e.CreatedDateTime)
	w.str("userDisplayName", e.UserDisplayName)
	w.str("userPrincipalName", e.UserPrincipalName)
	w.str("userId", e.UserID)
	w.str("appId", e.AppID)
	w.str("appDisplayName", e.AppDisplayName)
	w.str("ipAddress", e.IPAddress)
	w.str("clientAppUsed", e.ClientAppUsed)
	w.str("correlationId", e.CorrelationID)
	w.str("conditionalAccessStatus", e.ConditionalAccessStatus)
	w.bool("isInteractive", e.IsInteractive)
	w.str("riskLevelDuringSignIn", e.RiskLevelDuringSignIn)
	w.str("riskDetail", e.RiskDetail)
	w.strs("riskEventTypes_v2", e.RiskEventTypes)
	w.status(e.Status)
	w.policies(e.AppliedPolicies)
	w.details(e.AuthenticationDetails)
	w.str("resourceDisplayName", e.ResourceDisplayName)
	w.str("resourceId", e.ResourceID)
	w.device(e.DeviceDetail)
	w.latch(&e.Latch)
	w.close()
	return w.b, w.err
}

// jsonWriter appends to b; first says no field of the open object is written yet; err keeps
// the first time it could not write.
type jsonWriter struct {
	b     []byte
	first bool
	err   error
}

// key starts a field of the open object ("" for an array element or the top level).
func (w *jsonWriter) key(k string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	if k != "" {
		w.b = append(w.b, '"')
		w.b = append(w.b, k...)
		w.b = append(w.b, '"', ':')
	}
}

// open starts an object as field k; close ends it.
func (w *jsonWriter) open(k string) {
	if k != "" {
		w.key(k)
	}
	w.b = append(w.b, '{')
	w.first = true
}

func (w *jsonWriter) close() {
	w.b = append(w.b, '}')
	w.first = false
}

func (w *jsonWriter) str(k, s string) {
	if s != "" {
		w.key(k)
		w.b = appendString(w.b, s)
	}
}

func (w *jsonWriter) bool(k string, v bool) {
	if v {
		w.key(k)
		w.b = append(w.b, "true"...)
	}
}

func (w *jsonWriter) time(k string, t time.Time) {
	if y := t.Year(); y < 0 || y > 9999 {
		w.err = errJSONTime
	}
	w.key(k)
	w.b = append(w.b, '"')
	w.b = t.AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

// list writes a list of n elements with elem, or nothing for a nil list.
func (w *jsonWriter) list(k string, isNil bool, n int, elem func(i int)) {
	if isNil {
		return
	}
	w.key(k)
	w.b = append(w.b, '[')
	for i := range n {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		elem(i)
	}
	w.b = append(w.b, ']')
	w.first = false
}

func (w *jsonWriter) strs(k string, v []string) {
	w.list(k, v == nil, len(v), func(i int) { w.b = appendString(w.b, v[i]) })
}

func (w *jsonWriter) status(s Status) {
	w.open("status")
	if s.ErrorCode != 0 {
		w.key("errorCode")
		w.b = strconv.AppendInt(w.b, int64(s.ErrorCode), 10)
	}
	w.str("failureReason", s.FailureReason)
	w.str("additionalDetails", s.AdditionalDetails)
	w.close()
}

func (w *jsonWriter) policies(ps []AppliedPolicy) {
	w.list("appliedConditionalAccessPolicies", ps == nil, len(ps), func(i int) {
		p := &ps[i]
		w.open("")
		w.str("id", p.ID)
		w.str("displayName", p.DisplayName)
		w.str("result", p.Result)
		w.strs("enforcedGrantControls", p.EnforcedGrantControls)
		w.strs("enforcedSessionControls", p.EnforcedSessionControls)
		w.close()
	})
}

func (w *jsonWriter) details(ds []AuthDetail) {
	w.list("authenticationDetails", ds == nil, len(ds), func(i int) {
		d := &ds[i]
		w.open("")
		w.str("authenticationMethod", d.AuthenticationMethod)
		w.bool("succeeded", d.Succeeded)
		if !d.StepDateTime.IsZero() {
			w.time("authenticationStepDateTime", d.StepDateTime)
		}
		w.close()
	})
}

func (w *jsonWriter) device(d DeviceDetail) {
	w.open("deviceDetail")
	w.str("deviceId", d.DeviceID)
	w.str("displayName", d.DisplayName)
	w.str("operatingSystem", d.OperatingSystem)
	w.str("browser", d.Browser)
	w.bool("isCompliant", d.IsCompliant)
	w.bool("isManaged", d.IsManaged)
	w.str("trustType", d.TrustType)
	w.close()
}

func (w *jsonWriter) latch(l *Latch) {
	w.open("latch")
	w.str("flow", l.Flow)
	w.str("outcome", l.Outcome)
	w.strs("methods", l.Methods)
	w.strs("authenticationStrengthsSatisfied", l.StrengthsMet)
	w.list("riskReasons", l.RiskReasons == nil, len(l.RiskReasons), func(i int) {
		r := &l.RiskReasons[i]
		w.open("")
		w.str("signal", r.Signal)
		w.str("level", r.Level)
		w.str("detail", r.Detail)
		w.close()
	})
	w.str("sshCertificateKeyId", l.SSHCertificateKey)
	w.str("machineResourceId", l.MachineResourceID)
	w.str("localAccount", l.LocalAccount)
	w.close()
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does by default: HTML's <, > and & escaped, invalid
// UTF-8 replaced by U+FFFD, and U+2028 and U+2029 escaped for JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscaped(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendEscaped writes one ASCII byte that may not stand for itself inside a JSON string.
func appendEscaped(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}
