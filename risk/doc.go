// Package risk scores a sign-in none, low, medium or high from what Latch itself sees, and
// says why. Conditional Access reads the level (signInRiskLevels); the sign-in log keeps the
// level and the reasons.
//
// The signals, each a Reason with Entra's riskEventType name where Entra has one:
//
//   - unfamiliarFeatures (low; medium when the country is new too): the address is in no
//     network (IPv4 /24, IPv6 /48) from which this user signed in successfully within
//     Config.FamiliarWindow. Quiet until the user has Config.MinHistory such sign-ins, so a
//     new account is not flagged for having no past.
//   - impossibleTravel (medium): the user's latest successful sign-in was from a place more
//     than Config.MinTravelKm away, and reaching here since would need more than
//     Config.MaxSpeedKmh. Needs a GeoTable that knows both addresses.
//   - passwordSpray (medium; high at twice the threshold): failed sign-ins for at least
//     Config.SprayAccounts distinct accounts from this address within Config.SprayWindow.
//   - maliciousIPAddress (high): the address is on the admin's known-bad list.
//   - recentPasswordReset (low): the sign-in comes within Config.ResetWindow after the
//     user's password was reset, the moment an attacker who took over recovery would use.
//
// Where the inputs come from in the server: the history is read from the tenant's sign-in log
// (the user's successful sign-ins of the last FamiliarWindow, and the failures from the
// address of the last SprayWindow), the reset time from the user's password profile (the
// password given at creation is not a reset), the GeoTable from the admin's file
// (ParseGeoTable, "riskGeoTable" in the configuration) and the known-bad list from another
// (ParseAddressList, one CIDR a line, "riskBadAddresses"). A history that cannot be read adds a
// "historyUnavailable" reason at level none, so the log shows what was not scored.
//
// Combination rule: the highest signal wins; two or more signals at medium or above make
// high; two or more lows (and nothing higher) make medium. No signal is none.
//
// What it must not do: speak HTTP or SQL, read a clock other than Config.Now, or fetch
// history. The caller supplies the history (SignInHistory says which) and the tables; Score is
// a pure function of its arguments and safe for concurrent use.
package risk
