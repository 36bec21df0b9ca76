package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/client/report"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/usage"
)

// receiptCmd checks receipts that submit saved, offline.
func receiptCmd(args []string, stdout, stderr io.Writer) error {
	var lf logFlags
	fs := flag.NewFlagSet("receipt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&lf.vkey, "log-vkey", usage.Env("ATTESTLOG_LOG_VKEY", ""), "the log's verifier key, or a `file` holding it; required (env ATTESTLOG_LOG_VKEY)")
	pos, err := usage.ParseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usage.Errorf("receipt: no RECEIPT file to check")
	case lf.vkey == "":
		return usage.Errorf("receipt: --log-vkey (or ATTESTLOG_LOG_VKEY) is required: a receipt proves something only against the log's key")
	}
	v, err := parseLogVKey(lf.vkey)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range pos {
		vc, cp, err := client.VerifyReceiptFile(p, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("receipt %s does not verify: %w", p, err))
			continue
		}
		if err := report.PrintReceipt(stdout, p, vc, cp); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
