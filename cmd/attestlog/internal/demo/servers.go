package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/attestlog/attestlog/client"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/attestlog/attestlog/tiles"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// maxResponseSize is the largest gRPC response the demo accepts from its
// log, as much as the client subcommands accept.
const maxResponseSize = 64 << 20

// startServers is step 1: the log's key, three witnesses, the log.
func (d *demo) startServers(ctx context.Context) error {
	d.logData = filepath.Join(d.dir, "log")
	if err := os.Mkdir(d.logData, 0o700); err != nil {
		return err
	}
	out, err := d.attestlog(ctx, "keygen", "-o", filepath.Join(d.logData, "log"), origin)
	if err != nil {
		return err
	}
	d.logVKey = strings.TrimSpace(out)
	if err := d.startWitnesses(ctx); err != nil {
		return err
	}
	if err := d.writeLogPolicy(); err != nil {
		return err
	}
	d.logHTTP, d.logGRPC = "127.0.0.1:0", "127.0.0.1:0"
	if err := d.startLog(ctx); err != nil {
		return err
	}
	d.say("Started three witnesses, w1, w2 and w3 (on %s, %s and %s), and the log (gRPC on %s, HTTP on %s).",
		d.witnesses[0].addr, d.witnesses[1].addr, d.witnesses[2].addr, d.logGRPC, d.logHTTP)
	d.say("The log publishes a checkpoint only once 2 of the 3 witnesses have cosigned it, and a witness cosigns only a checkpoint consistent with the last one it saw: the log cannot show different histories to different people, or rewrite its own, without a witness noticing.")
	return nil
}

// startWitnesses starts w1, w2 and w3, which witness the log.
func (d *demo) startWitnesses(ctx context.Context) error {
	logsFile := filepath.Join(d.dir, "witness-logs")
	if err := os.WriteFile(logsFile, []byte("log "+d.logVKey+"\n"), 0o644); err != nil {
		return err
	}
	for i := range 3 {
		w := &witnessServer{name: fmt.Sprintf("w%d", i+1)}
		w.data = filepath.Join(d.dir, w.name)
		d.witnesses = append(d.witnesses, w)
		var err error
		w.srv, err = startServer(ctx, d.cfg.Run, []string{"witness", "--data", w.data, "--http", "127.0.0.1:0",
			"--name", w.name + ".example", "--logs", logsFile, "--log-level", d.level},
			[]string{"witness vkey:", "http listening on"}, d.srvErr)
		if err != nil {
			return err
		}
		w.addr, w.vkey = w.srv.get("http listening on"), w.srv.get("witness vkey:")
	}
	return nil
}

// writeLogPolicy writes the log's witness policy, 2 of the 3 witnesses,
// and parses it.
func (d *demo) writeLogPolicy() error {
	policy := "log " + d.logVKey + "\n"
	for _, w := range d.witnesses {
		policy += fmt.Sprintf("witness %s %s http://%s/\n", w.name, w.vkey, w.addr)
	}
	policy += "group witnesses 2 w1 w2 w3\nquorum witnesses\n"
	d.logPolicy = filepath.Join(d.dir, "log-witness-policy")
	if err := os.WriteFile(d.logPolicy, []byte(policy), 0o644); err != nil {
		return err
	}
	var err error
	d.logTLog, err = tiles.ParsePolicy([]byte(policy))
	return err
}

// startLog starts the log on d.logHTTP and d.logGRPC (port 0 the first
// time, then the ports it got, or new ones if those were taken meanwhile),
// with its witness policy unless d.forced, and connects to its gRPC API.
func (d *demo) startLog(ctx context.Context) error {
	policy := d.logPolicy
	if d.forced {
		policy = ""
	}
	start := func() (*server, error) {
		// No index commitment during the demo (--index-age 1h): the story
		// names tree sizes, which must be the claims it tells of.
		return startServer(ctx, d.cfg.Run, []string{"serve", "--data", d.logData, "--http", d.logHTTP, "--grpc", d.logGRPC,
			"--origin", origin, "--policy=" + policy, "--builders=", "--rate", "0", "--builder-rate", "0", "--log-level", d.level,
			"--index-age", "1h"},
			[]string{"log vkey:", "http listening on", "grpc listening on"}, d.srvErr)
	}
	var err error
	if d.log, err = start(); err != nil && ctx.Err() == nil && d.logGRPC != "127.0.0.1:0" {
		d.logHTTP, d.logGRPC = "127.0.0.1:0", "127.0.0.1:0"
		d.log, err = start()
	}
	if err != nil {
		d.log = nil
		return err
	}
	if got := d.log.get("log vkey:"); got != d.logVKey {
		return fmt.Errorf("the log's key is %s, want %s", got, d.logVKey)
	}
	d.logHTTP, d.logGRPC = d.log.get("http listening on"), d.log.get("grpc listening on")
	d.conn, err = grpc.NewClient(d.logGRPC, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxResponseSize)))
	return err
}

// stopLog disconnects from the log and stops it.
func (d *demo) stopLog() error {
	d.conn.Close()
	d.conn = nil
	err := d.log.stop()
	d.log = nil
	return err
}

// waitWitnessed waits until the log publishes a checkpoint of the given
// size that 2 of the 3 witnesses cosigned.
func (d *demo) waitWitnessed(ctx context.Context, size int64) error {
	lc := pb.NewLogServiceClient(d.conn)
	return poll(ctx, fmt.Sprintf("witnesses cosign tree size %d", size), witnessWait, func() (bool, error) {
		resp, err := lc.GetCheckpoint(ctx, &pb.GetCheckpointRequest{})
		if err != nil || len(resp.GetWitnessedCheckpoint()) == 0 {
			return false, err
		}
		vc, err := d.logTLog.VerifyCheckpoint(resp.GetWitnessedCheckpoint())
		if err != nil {
			return false, fmt.Errorf("the log's witnessed checkpoint: %w", err)
		}
		return vc.Size >= size, nil
	})
}

// signedCheckpoint returns the log's latest signed checkpoint, which the
// log key alone signed, verified with that key.
func (d *demo) signedCheckpoint(ctx context.Context) (tiles.Checkpoint, []byte, error) {
	resp, err := pb.NewLogServiceClient(d.conn).GetCheckpoint(ctx, &pb.GetCheckpointRequest{})
	if err != nil {
		return tiles.Checkpoint{}, nil, err
	}
	cp, err := client.OpenCheckpoint(resp.GetCheckpoint(), d.policy.TLog.Logs[0].Verifier)
	return cp, resp.GetCheckpoint(), err
}
