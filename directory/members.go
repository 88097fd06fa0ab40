package directory

// TransitiveGroups returns the ids of every group that memberID belongs to, directly or through
// nested groups, each once. Cycles among groups end the walk instead of looping.
func TransitiveGroups(memberID string, groups []Group) []string {
	parents := make(map[string][]string) // member id → ids of groups that list it
	for _, g := range groups {
		for _, m := range g.Members {
			parents[m] = append(parents[m], g.ID)
		}
	}
	seen := map[string]bool{}
	var out []string
	queue := []string{memberID}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, p := range parents[id] {
			if seen[p] {
				continue
			}
			seen[p] = true
			out = append(out, p)
			queue = append(queue, p)
		}
	}
	return out
}

// TransitiveMembers returns the ids of every non-group member reachable from group id, plus the
// nested groups themselves, each once, cycle-safe.
func TransitiveMembers(id string, groups []Group) []string {
	byID := make(map[string]Group, len(groups))
	for _, g := range groups {
		byID[g.ID] = g
	}
	seen := map[string]bool{id: true}
	var out []string
	queue := []string{id}
	for len(queue) > 0 {
		g := byID[queue[0]]
		queue = queue[1:]
		for _, m := range g.Members {
			if seen[m] {
				continue
			}
			seen[m] = true
			out = append(out, m)
			if _, isGroup := byID[m]; isGroup {
				queue = append(queue, m)
			}
		}
	}
	return out
}
