package imds

import (
	"strings"
	"sync/atomic"
)

// A machine with many user-assigned identities would otherwise compare the request's
// client_id against every one of them on every token request: with 2,048 identities that
// scan was a sixth of the service's CPU. identityIndex finds the position by map instead,
// for a Source that hands out the same slice each time (as one answering from memory does).
// It never changes an answer: a hit is checked against the slice itself, and a miss, or a
// hit that no longer matches, falls back to the scan.

// indexFrom is the smallest list worth indexing; shorter ones are scanned.
const indexFrom = 16

// identityIndex maps each selector's lower-case value to the first position holding it, for
// one slice (first element and length).
type identityIndex struct {
	first *Identity
	n     int
	pos   map[string]map[string]int // selector field ("client_id", "object_id", "resource") → value → position
}

// identityIndexes remembers the last slice seen and the index of the last one indexed.
type identityIndexes struct {
	seen  atomic.Pointer[Identity]
	index atomic.Pointer[identityIndex]
}

// find returns the position of the first identity whose field name equals value
// (case-insensitive), or -1. x may be nil: then ids is scanned.
func (x *identityIndexes) find(ids []Identity, name, value string) int {
	if x != nil && len(ids) >= indexFrom {
		if i, ok := x.lookup(ids, name, value); ok {
			return i
		}
	}
	for i, id := range ids {
		if value != "" && strings.EqualFold(value, idField(id, name)) {
			return i
		}
	}
	return -1
}

// lookup answers from the index of ids, building it the second time in a row ids is seen (a
// Source making a new slice per call gets no index, which would cost more than the scan).
func (x *identityIndexes) lookup(ids []Identity, name, value string) (int, bool) {
	idx := x.index.Load()
	if idx == nil || idx.first != &ids[0] || idx.n != len(ids) {
		if x.seen.Swap(&ids[0]) != &ids[0] {
			return 0, false
		}
		idx = buildIdentityIndex(ids)
		x.index.Store(idx)
	}
	i, ok := idx.pos[fieldKind(name)][strings.ToLower(value)]
	if !ok || value == "" || !strings.EqualFold(value, idField(ids[i], name)) {
		return 0, false
	}
	return i, true
}

// buildIdentityIndex indexes ids, or returns an index that always misses when a value is not
// ASCII: only for ASCII are two values equal under EqualFold exactly when their ToLower are,
// which keeps "the first identity that matches" the same answer as the scan's.
func buildIdentityIndex(ids []Identity) *identityIndex {
	idx := &identityIndex{first: &ids[0], n: len(ids), pos: map[string]map[string]int{}}
	for _, name := range []string{"client_id", "object_id", "resource"} {
		m := make(map[string]int, len(ids))
		for i, id := range ids {
			v := idField(id, name)
			if !isASCII(v) {
				return &identityIndex{first: &ids[0], n: len(ids)}
			}
			k := strings.ToLower(v)
			if _, dup := m[k]; !dup {
				m[k] = i
			}
		}
		idx.pos[name] = m
	}
	return idx
}

// fieldKind folds the selector names onto the three fields idField reads.
func fieldKind(name string) string {
	switch name {
	case "client_id":
		return "client_id"
	case "object_id", "principal_id":
		return "object_id"
	}
	return "resource"
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
