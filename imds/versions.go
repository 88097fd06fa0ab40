package imds

import (
	"slices"
)

// apiVersions are the api-version values Azure's IMDS accepts, oldest first. Versions are
// dates, so comparing the strings compares the versions.
var apiVersions = []string{
	"2017-03-01", "2017-04-02", "2017-08-01", "2017-10-01", "2017-12-01",
	"2018-02-01", "2018-04-02", "2018-10-01",
	"2019-02-01", "2019-03-11", "2019-04-30", "2019-06-01", "2019-06-04", "2019-08-01",
	"2019-08-15", "2019-11-01",
	"2020-06-01", "2020-07-15", "2020-09-01", "2020-10-01", "2020-12-01",
	"2021-01-01", "2021-02-01", "2021-03-01", "2021-05-01", "2021-10-01", "2021-11-01",
	"2021-11-15", "2021-12-13",
}

const (
	// minIdentityVersion is the oldest api-version of the identity endpoints.
	minIdentityVersion = "2018-02-01"
	// appServiceVersion is the only api-version of the App Service protocol served here;
	// 2017-09-01 used a different header and is not offered.
	appServiceVersion = "2019-08-01"
)

// newestVersions is what a 400 about api-version lists, newest first, as Azure does.
var newestVersions = func() []string {
	n := apiVersions[len(apiVersions)-3:]
	out := slices.Clone(n)
	slices.Reverse(out)
	return out
}()

func supportedVersion(v string) bool {
	_, found := slices.BinarySearch(apiVersions, v)
	return found
}

// since reports whether api-version v includes something introduced in version first.
func since(v, first string) bool { return v >= first }
