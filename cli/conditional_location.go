package cli

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"
)

// locationPath is the Graph collection of named locations, relative to /v1.0/.
const locationPath = "identity/conditionalAccess/namedLocations"

// Graph's @odata.type values for named locations and their ranges.
const (
	ipLocationType      = "#microsoft.graph.ipNamedLocation"
	countryLocationType = "#microsoft.graph.countryNamedLocation"
	ipv4RangeType       = "#microsoft.graph.iPv4CidrRange"
	ipv6RangeType       = "#microsoft.graph.iPv6CidrRange"
)

func newCANamedLocationCommand(a *app) *cobra.Command {
	return newGroup("named-location", "Manage named locations: trusted IP ranges and countries that policies name.",
		newLocationCreate(a), newLocationList(a), newLocationShow(a), newLocationUpdate(a), newLocationDelete(a))
}

// locationFields holds the flags that shape a named location.
type locationFields struct {
	name                    string
	ipRanges, countries     []string
	trusted, includeUnknown bool
}

func (l *locationFields) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&l.name, "name", "", "The location's display name.")
	f.StringSliceVar(&l.ipRanges, "ip-ranges", nil, "IP ranges in CIDR form, comma-separated (e.g. 203.0.113.0/24,2001:db8::/48): an IP location.")
	f.BoolVar(&l.trusted, "trusted", false, "Mark the IP location trusted (policies can exclude trusted locations).")
	f.StringSliceVar(&l.countries, "countries", nil, "Two-letter country codes, comma-separated (e.g. NL,BE): a country location.")
	f.BoolVar(&l.includeUnknown, "include-unknown", false, "A country location also matches addresses whose country is unknown.")
}

// object builds a namedLocation body from the flags cmd was given; kind is the @odata.type
// the location has (for update) or "" to decide it from the flags (for create).
func (l *locationFields) object(cmd *cobra.Command, kind string) (map[string]any, error) {
	changed := cmd.Flags().Changed
	ip := changed("ip-ranges") || changed("trusted")
	country := changed("countries") || changed("include-unknown")
	switch {
	case ip && country:
		return nil, usagef("--ip-ranges/--trusted and --countries/--include-unknown describe different kinds of location; give one kind.")
	case kind == "" && ip:
		kind = ipLocationType
	case kind == "" && country:
		kind = countryLocationType
	case kind == "":
		return nil, usagef("Give --ip-ranges for an IP location or --countries for a country location.")
	case ip && kind != ipLocationType, country && kind != countryLocationType:
		return nil, usagef("The location is a %s; its kind cannot change.", strings.TrimPrefix(kind, "#microsoft.graph."))
	}
	obj := map[string]any{"@odata.type": kind}
	if l.name != "" {
		obj["displayName"] = l.name
	}
	if changed("ip-ranges") {
		ranges, err := cidrRanges(l.ipRanges)
		if err != nil {
			return nil, err
		}
		obj["ipRanges"] = ranges
	}
	if changed("trusted") {
		obj["isTrusted"] = l.trusted
	}
	if changed("countries") {
		codes, err := countryCodes(l.countries)
		if err != nil {
			return nil, err
		}
		obj["countriesAndRegions"] = codes
	}
	if changed("include-unknown") {
		obj["includeUnknownCountriesAndRegions"] = l.includeUnknown
	}
	return obj, nil
}

// cidrRanges turns CIDR texts into Graph's ipRange objects, refusing what is not a CIDR range
// before any request.
func cidrRanges(texts []string) ([]any, error) {
	if len(texts) == 0 {
		return nil, usagef("--ip-ranges needs at least one CIDR range.")
	}
	out := make([]any, 0, len(texts))
	for _, s := range texts {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, usagef("--ip-ranges: '%s' is not a CIDR range such as 203.0.113.0/24.", s)
		}
		kind := ipv4RangeType
		if !p.Addr().Unmap().Is4() || p.Addr().Is4In6() {
			kind = ipv6RangeType
		}
		out = append(out, map[string]any{"@odata.type": kind, "cidrAddress": p.String()})
	}
	return out, nil
}

// countryCodes upper-cases and checks ISO 3166 alpha-2 codes.
func countryCodes(texts []string) ([]string, error) {
	if len(texts) == 0 {
		return nil, usagef("--countries needs at least one country code.")
	}
	out := make([]string, 0, len(texts))
	for _, s := range texts {
		c := strings.ToUpper(strings.TrimSpace(s))
		if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
			return nil, usagef("--countries: '%s' is not a two-letter country code such as NL.", s)
		}
		out = append(out, c)
	}
	return out, nil
}

func newLocationCreate(a *app) *cobra.Command {
	var l locationFields
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a named location.",
		Example: `  latch conditional-access named-location create --name Office --ip-ranges 203.0.113.0/24,2001:db8::/48 --trusted
  latch conditional-access named-location create --name Benelux --countries NL,BE,LU`,
		Args: cobra.NoArgs,
		RunE: a.run(func(ctx context.Context, cmd *cobra.Command) (any, error) {
			body, err := l.object(cmd, "")
			if err != nil {
				return nil, err
			}
			return a.postGraph(ctx, locationPath, body)
		}),
	}
	l.add(cmd)
	required(cmd, "name")
	return cmd
}

func newLocationList(a *app) *cobra.Command {
	return newGraphList(a, locationPath, "List named locations.", "displayName eq 'Office'")
}

// locationCommand builds a command acting on one named location, given by --id.
func locationCommand(a *app, use, short string, body objectBody) *cobra.Command {
	return namedObjectCommand(a, locationPath, "Named location", "The named location's id or display name.", use, short, body)
}

func newLocationShow(a *app) *cobra.Command {
	return locationCommand(a, "show", "Show a named location.", func(ctx context.Context, g *graph, id string) (any, error) {
		return g.get(ctx, locationPath+"/"+seg(id))
	})
}

func newLocationUpdate(a *app) *cobra.Command {
	var l locationFields
	var cmd *cobra.Command
	cmd = locationCommand(a, "update", "Change a named location; the properties given replace the stored ones.",
		func(ctx context.Context, g *graph, id string) (any, error) {
			cur, err := g.get(ctx, locationPath+"/"+seg(id))
			if err != nil {
				return nil, err
			}
			kind, _ := cur["@odata.type"].(string)
			body, err := l.object(cmd, kind)
			if err != nil {
				return nil, err
			}
			if len(body) == 1 {
				return nil, usagef("Give --name, --ip-ranges, --trusted, --countries or --include-unknown to change.")
			}
			if err := g.do(ctx, http.MethodPatch, locationPath+"/"+seg(id), nil, body, nil); err != nil {
				return nil, asNotFound(err)
			}
			return g.get(ctx, locationPath+"/"+seg(id))
		})
	l.add(cmd)
	return cmd
}

func newLocationDelete(a *app) *cobra.Command {
	return locationCommand(a, "delete", "Delete a named location (refused while a policy names it).", func(ctx context.Context, g *graph, id string) (any, error) {
		return nil, asNotFound(g.do(ctx, http.MethodDelete, locationPath+"/"+seg(id), nil, nil, nil))
	})
}
