// Package e2e holds whole-system tests: the real control plane in the test process (see
// testenv) driven by the real command line through cli.Run, as a person or a script would.
// Nothing here is imported by the product.
package e2e
