package main

import "github.com/attestlog/attestlog/cmd/attestlog/internal/loadgen"

// The tests of the processes sign claims and read bench reports with the
// load generator's helpers, under the names they had in this package.
var signedClaims = loadgen.SignedClaims

type benchReport = loadgen.Report
