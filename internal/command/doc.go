// Package command owns how a tagpulse command starts: its flags, each with
// an environment variable beside it (FlagSet, Secret), the flags every
// command shares and their checks (Logging, Start), the logger (NewLogger),
// the memory limit and CPU profile, the configuration tables generated from
// the flags (ConfigTables), and the HTTP servers with their timeouts and
// clean shutdown (NewServer, Listen, Serve). The command trees of
// internal/ingestcli and internal/aggregatecli are built from it, and the
// product packages register their settings on a FlagSet.
package command
