package main

import (
	"github.com/attestlog/attestlog/cmd/attestlog/internal/datadir"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/loadgen"
)

// The tests keep the names these helpers had when they lived in this
// package: the files of the data directories and their keys
// (internal/datadir), and the load generator's claims and report
// (internal/loadgen).
const (
	keyFile         = datadir.LogKey
	vkeyFile        = datadir.LogVKey
	dbFile          = datadir.LogDB
	witnessKeyFile  = datadir.WitnessKey
	witnessVkeyFile = datadir.WitnessVKey
	witnessDBFile   = datadir.WitnessDB
)

var (
	verifierKey  = datadir.VerifierKey
	signedClaims = loadgen.SignedClaims
)

type benchReport = loadgen.Report
