// Package resource is the resource manager's domain: management groups, subscriptions,
// resource groups and resources (virtual machines and their extensions among them), the
// custom role definitions and role assignments the resource manager stores, the activity log,
// and the index that answers access decisions quickly. ARM ids are built and parsed with
// access's scope parser, so the resource manager and the decision function agree on what an id
// names.
//
// It validates names, locations, tags and virtual machine properties with ARM's error codes
// and messages, so an adapter answers as ARM would.
//
// What it must not do: speak HTTP or SQL, or hold a store. The HTTP API and the store import it;
// it imports only the standard library, errs, directory and access.
package resource
