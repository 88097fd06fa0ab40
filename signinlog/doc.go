// Package signinlog holds the sign-in log's entry in Microsoft Graph's signIn shape, the
// constructor that turns a Conditional Access decision and a risk score into one, and the
// subset of OData $filter that /v1.0/auditLogs/signIns and `latch signin list` accept (user,
// application, time range, status), parsed into a Filter a store can translate.
//
// Every sign-in is logged the same way whatever its kind (browser, device code, client
// credentials, managed identity, SSH certificate, machine login), with one correlation id
// from the browser through the certificate to the machine. Latch's own facts that Graph has
// no field for (the SSH certificate's key id, the machine's resource id, the risk reasons,
// the flow) sit under "latch", which Graph clients ignore.
//
// What it must not do: speak HTTP or SQL, store anything, or read a clock; the caller gives
// the time, the ids and the decision.
package signinlog
