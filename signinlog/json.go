package signinlog

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// Every token issuance writes one entry, so the log's encoding is on the issuance's budget.
// encoding/json walks Entry by reflection on every call; AppendJSON writes the same bytes
// directly, at a fraction of the cost. The tests hold the two byte for byte equal, so an
// entry reads back the same whichever wrote it; a field added to Entry must be added here
// too, and the tests fail until it is.

// errJSONTime is AppendJSON's refusal of a time encoding/json cannot write either.
var errJSONTime = errors.New("signinlog: a time outside the years 0 to 9999 has no JSON form")

// AppendJSON appends e's JSON to b: exactly what json.Marshal(e) gives. It fails, as
// json.Marshal does, only for a time whose year lies outside 0 to 9999.
func (e *Entry) AppendJSON(b []byte) ([]byte, error) {
	w := jsonWriter{b: b}
	w.str(`{"id":`, e.ID)
	w.time(`,"createdDateTime":`, e.CreatedDateTime)
	w.str(`,"userDisplayName":`, e.UserDisplayName)
	w.str(`,"userPrincipalName":`, e.UserPrincipalName)
	w.str(`,"userId":`, e.UserID)
	w.str(`,"appId":`, e.AppID)
	w.str(`,"appDisplayName":`, e.AppDisplayName)
	w.str(`,"ipAddress":`, e.IPAddress)
	w.str(`,"clientAppUsed":`, e.ClientAppUsed)
	w.str(`,"correlationId":`, e.CorrelationID)
	w.str(`,"conditionalAccessStatus":`, e.ConditionalAccessStatus)
	w.bool(`,"isInteractive":`, e.IsInteractive)
	w.str(`,"riskLevelDuringSignIn":`, e.RiskLevelDuringSignIn)
	w.str(`,"riskDetail":`, e.RiskDetail)
	w.strs(`,"riskEventTypes_v2":`, e.RiskEventTypes)
	w.status(e.Status)
	w.policies(e.AppliedPolicies)
	w.details(e.AuthenticationDetails)
	w.str(`,"resourceDisplayName":`, e.ResourceDisplayName)
	w.str(`,"resourceId":`, e.ResourceID)
	w.device(e.DeviceDetail)
	w.latch(&e.Latch)
	w.b = append(w.b, '}')
	return w.b, w.err
}

// jsonWriter appends to b; err keeps the first time it could not write.
type jsonWriter struct {
	b   []byte
	err error
}

func (w *jsonWriter) str(key, s string) {
	w.b = append(w.b, key...)
	w.b = appendString(w.b, s)
}

// optStr is an omitempty string.
func (w *jsonWriter) optStr(key, s string) {
	if s != "" {
		w.str(key, s)
	}
}

func (w *jsonWriter) bool(key string, v bool) {
	w.b = append(w.b, key...)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jsonWriter) time(key string, t time.Time) {
	w.b = append(w.b, key...)
	if y := t.Year(); y < 0 || y > 9999 {
		w.err = errJSONTime
	}
	w.b = append(w.b, '"')
	w.b = t.AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
}

// strs writes a []string as encoding/json does: null when nil.
func (w *jsonWriter) strs(key string, v []string) {
	w.b = append(w.b, key...)
	if v == nil {
		w.b = append(w.b, "null"...)
		return
	}
	w.b = append(w.b, '[')
	for i, s := range v {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendString(w.b, s)
	}
	w.b = append(w.b, ']')
}

func (w *jsonWriter) status(s Status) {
	w.b = append(w.b, `,"status":{"errorCode":`...)
	w.b = strconv.AppendInt(w.b, int64(s.ErrorCode), 10)
	w.optStr(`,"failureReason":`, s.FailureReason)
	w.optStr(`,"additionalDetails":`, s.AdditionalDetails)
	w.b = append(w.b, '}')
}

func (w *jsonWriter) policies(ps []AppliedPolicy) {
	w.b = append(w.b, `,"appliedConditionalAccessPolicies":`...)
	if ps == nil {
		w.b = append(w.b, "null"...)
		return
	}
	w.b = append(w.b, '[')
	for i, p := range ps {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.str(`{"id":`, p.ID)
		w.str(`,"displayName":`, p.DisplayName)
		w.str(`,"result":`, p.Result)
		w.strs(`,"enforcedGrantControls":`, p.EnforcedGrantControls)
		w.strs(`,"enforcedSessionControls":`, p.EnforcedSessionControls)
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ']')
}

func (w *jsonWriter) details(ds []AuthDetail) {
	w.b = append(w.b, `,"authenticationDetails":`...)
	if ds == nil {
		w.b = append(w.b, "null"...)
		return
	}
	w.b = append(w.b, '[')
	for i, d := range ds {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.str(`{"authenticationMethod":`, d.AuthenticationMethod)
		w.bool(`,"succeeded":`, d.Succeeded)
		if !d.StepDateTime.IsZero() {
			w.time(`,"authenticationStepDateTime":`, d.StepDateTime)
		}
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ']')
}

func (w *jsonWriter) device(d DeviceDetail) {
	w.str(`,"deviceDetail":{"deviceId":`, d.DeviceID)
	w.str(`,"displayName":`, d.DisplayName)
	w.str(`,"operatingSystem":`, d.OperatingSystem)
	w.str(`,"browser":`, d.Browser)
	w.bool(`,"isCompliant":`, d.IsCompliant)
	w.bool(`,"isManaged":`, d.IsManaged)
	w.str(`,"trustType":`, d.TrustType)
	w.b = append(w.b, '}')
}

func (w *jsonWriter) latch(l *Latch) {
	w.str(`,"latch":{"flow":`, l.Flow)
	w.str(`,"outcome":`, l.Outcome)
	w.strs(`,"methods":`, l.Methods)
	w.strs(`,"authenticationStrengthsSatisfied":`, l.StrengthsMet)
	w.b = append(w.b, `,"riskReasons":`...)
	if l.RiskReasons == nil {
		w.b = append(w.b, "null"...)
	} else {
		w.b = append(w.b, '[')
		for i, r := range l.RiskReasons {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.str(`{"signal":`, r.Signal)
			w.str(`,"level":`, r.Level)
			w.str(`,"detail":`, r.Detail)
			w.b = append(w.b, '}')
		}
		w.b = append(w.b, ']')
	}
	w.optStr(`,"sshCertificateKeyId":`, l.SSHCertificateKey)
	w.optStr(`,"machineResourceId":`, l.MachineResourceID)
	w.optStr(`,"localAccount":`, l.LocalAccount)
	w.b = append(w.b, '}')
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
