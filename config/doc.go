// Package config is the one configuration of `latch serve`: its fields, their defaults, how
// they are read (a JSON file, LATCH_* environment variables, command-line flags, in rising
// precedence) and Validate, which reports every problem at once in the operator's terms.
//
// It only describes and checks settings. It must not open the store, listen on sockets, create
// files or start anything; the serve command does that with a Config that passed Validate.
// Unknown fields in a configuration file are an error, never silently ignored, and settings
// that weaken security carry the prefix Insecure.
package config
