package imds

import (
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// node is the JSON tree of /metadata/instance: objects, arrays and strings only, because
// Azure writes every primitive as a string.
type node = any

func (s *Server) serveVersions(w http.ResponseWriter, r *http.Request, _ request) {
	if !s.instanceAllowed(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"apiVersions": apiVersions})
}

func (s *Server) serveInstance(w http.ResponseWriter, r *http.Request, req request) {
	format := req.q.Get("format")
	if format != "" && format != "json" && format != "text" {
		errFormat.write(w, instanceFamily)
		return
	}
	if !s.instanceAllowed(w, r) {
		return
	}
	inst, err := s.src.Instance(r.Context())
	if err != nil {
		s.cfg.Logger.Error("imds: reading the instance description", "err", err)
		errInternal.write(w, instanceFamily)
		return
	}
	n, found := walk(instanceTree(inst, req.q.Get("api-version")), req.sub)
	if !found {
		errNotFound.write(w, instanceFamily)
		return
	}
	writeNode(w, n, format == "text")
}

// instanceAllowed spends one of the caller's instance requests, answering 429 when none is
// left. The key is the caller's address: every program on the machine shares one budget, as
// every program on an Azure VM does.
func (s *Server) instanceAllowed(w http.ResponseWriter, r *http.Request) bool {
	key := r.RemoteAddr
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		key = ap.Addr().Unmap().String()
	}
	b, ok := s.insLim.acquire(key)
	if !ok {
		errTooMany.write(w, instanceFamily)
		return false
	}
	s.insLim.release(b) // instance answers come from memory: only the rate is limited
	return true
}

// walk follows route-filtering segments (object keys, array indexes) down the tree.
func walk(n node, path []string) (node, bool) {
	for _, seg := range path {
		switch v := n.(type) {
		case map[string]node:
			child, ok := v[seg]
			if !ok {
				return nil, false
			}
			n = child
		case []node:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) || seg != strconv.Itoa(i) {
				return nil, false
			}
			n = v[i]
		default:
			return nil, false
		}
	}
	return n, true
}

// writeNode answers with n: JSON, or with format=text the value of a leaf or the children of
// an object or array one per line, those with children of their own ending in "/" (Azure's
// listing). A leaf is only ever text: as JSON it would be a bare string, which Azure refuses.
func writeNode(w http.ResponseWriter, n node, text bool) {
	leaf, isLeaf := n.(string)
	switch {
	case isLeaf && !text:
		errLeaf.write(w, instanceFamily)
	case !text:
		writeJSON(w, http.StatusOK, n)
	case isLeaf:
		writeText(w, leaf)
	default:
		writeText(w, strings.Join(children(n), "\n"))
	}
}

func children(n node) []string {
	var names []string
	switch v := n.(type) {
	case map[string]node:
		for k, c := range v {
			names = append(names, k+slashIfInner(c))
		}
		sort.Strings(names)
	case []node:
		for i, c := range v {
			names = append(names, strconv.Itoa(i)+slashIfInner(c))
		}
	}
	return names
}

func slashIfInner(n node) string {
	if _, leaf := n.(string); leaf {
		return ""
	}
	return "/"
}

func writeText(w http.ResponseWriter, s string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(s)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(s))
}
