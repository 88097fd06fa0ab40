// Package httpapi serves Latch's public HTTP surface with Azure's shapes: the OAuth 2.0 /
// OpenID Connect token service at Entra's paths, Graph-shaped directory REST under /v1.0, and
// ARM-shaped resource REST. It turns requests into calls on the domain packages and the store,
// and turns errs kinds into the status codes and error bodies each family of clients expects.
// It keeps no state of its own between requests, so replicas can share one store.
package httpapi
