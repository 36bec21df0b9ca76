package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/attestlog/attestlog/client"
	"github.com/attestlog/attestlog/cmd/attestlog/internal/loadgen"
	"github.com/attestlog/attestlog/log/claim"
	"github.com/attestlog/attestlog/log/pgstore/pgtest"
	"github.com/attestlog/attestlog/log/vindex"
	pb "github.com/attestlog/attestlog/proto/attestlog/v1"
	"github.com/attestlog/attestlog/tiles"
	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// A frontend is a running serve of a scaled-out log, with a client.
type frontend struct {
	*proc
	lc       pb.LogServiceClient
	http     string
	verifier note.Verifier
	rec      *faultRecord // what it acknowledged
}

// startFrontendClients starts a serve per data directory, with the store
// URL stores[f], a copy of the first one's log key and the extra flags,
// and connects to each.
func startFrontendClients(t *testing.T, data []string, stores []string, extra ...string) []*frontend {
	t.Helper()
	var fes []*frontend
	for f, d := range data {
		if f > 0 {
			copyLogKey(t, data[0], d)
		}
		p := startProc(t, []string{"log vkey:", "http listening on", "grpc listening on"}, append([]string{"serve", "--data", d,
			"--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--log-level", "warn", "--store", stores[f]}, extra...)...)
		v, err := note.NewVerifier(p.get("log vkey:"))
		if err != nil {
			t.Fatal(err)
		}
		conn, err := grpc.NewClient(p.get("grpc listening on"), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fes = append(fes, &frontend{proc: p, lc: pb.NewLogServiceClient(conn), http: p.get("http listening on"), verifier: v,
			rec: &faultRecord{claims: map[int64][]byte{}, uploads: map[string][]byte{}, checkpoints: map[string]bool{}}})
	}
	return fes
}

// frontendData returns n data directories for the frontends of one log.
func frontendData(t *testing.T, n int) []string {
	var data []string
	for i := range n {
		data = append(data, fmt.Sprintf("%s/fe%d", t.TempDir(), i))
	}
	return data
}

// loadFrontends runs builders against every frontend (four each) until
// ctx is done; each builder starts over with a fresh key after an error,
// so that the load outlives a frontend's or the database's outage.
func loadFrontends(ctx context.Context, t *testing.T, fes []*frontend) *sync.WaitGroup {
	var wg sync.WaitGroup
	for f, fe := range fes {
		for b := range 4 {
			wg.Go(func() {
				for round := 0; ctx.Err() == nil; round++ {
					faultBuilder(ctx, t, fe.lc, fmt.Sprintf("fe%d-%d-%d", f, b, round), fe.rec)
					select {
					case <-ctx.Done():
					case <-time.After(20 * time.Millisecond):
					}
				}
			})
		}
	}
	return &wg
}

// httpCheckpoint returns the checkpoint a frontend publishes, or nil.
func httpCheckpoint(addr string) []byte {
	resp, err := http.Get("http://" + addr + "/checkpoint")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	return b.Bytes()
}

// checkOneTree waits until every frontend publishes the same checkpoint,
// then checks each one: everything any of them acknowledged (claims,
// uploads to its own archive, receipt checkpoints) is in the tree it
// serves, and the invariant checker passes over its HTTP tile API.
func checkOneTree(t *testing.T, fes []*frontend) *client.CheckReport {
	t.Helper()
	waitFor(t, "every frontend publishes one checkpoint", func() bool {
		first := httpCheckpoint(fes[0].http)
		for _, fe := range fes[1:] {
			if cp := httpCheckpoint(fe.http); first == nil || !bytes.Equal(cp, first) {
				return false
			}
		}
		return true
	})
	all := &faultRecord{claims: map[int64][]byte{}, checkpoints: map[string]bool{}}
	for _, fe := range fes {
		all.merge(&faultRecord{claims: fe.rec.claims, checkpoints: fe.rec.checkpoints})
	}
	var first *client.CheckReport
	for f, fe := range fes {
		// The binaries each frontend acknowledged are in its own archive.
		checkNothingLost(t, fe.lc, fe.http, fe.verifier, &faultRecord{claims: all.claims, checkpoints: all.checkpoints, uploads: fe.rec.uploads})
		r, err := client.CheckLog(context.Background(), client.HTTPFetcher{Base: "http://" + fe.http}, fe.verifier)
		if err != nil {
			t.Fatalf("frontend %d: CheckLog: %v", f, err)
		}
		if first == nil {
			first = &r
		} else if !bytes.Equal(r.Note, first.Note) {
			t.Errorf("frontend %d serves a tree of size %d, frontend 0 one of size %d", f, r.Checkpoint.Size, first.Checkpoint.Size)
		}
	}
	return first
}

// signedClaim returns a claim envelope of a fresh key, for every frontend to log.
func signedClaim(t *testing.T, name string) []byte {
	t.Helper()
	skey, vkey, _ := note.GenerateKey(nil, "frontends.example/"+name)
	signer, _ := note.NewSigner(skey)
	c := &claim.Claim{Subjects: []claim.Subject{{Name: name, SHA256: strings.Repeat("ab", 32)}},
		Source: "git+https://frontends.example/p", Commit: strings.Repeat("cd", 20), Recipe: strings.Repeat("ef", 32),
		Platform: "linux/amd64", BuilderID: "https://frontends.example"}
	st, err := claim.NewStatement(c)
	if err != nil {
		t.Fatal(err)
	}
	e, err := claim.SignStatement(st, claim.Key{Signer: signer, VKey: vkey})
	if err != nil {
		t.Fatal(err)
	}
	return e.Envelope()
}

// TestFrontendsOneTree runs two, then four `serve` processes on one
// PostgreSQL database, each with its own data directory and a copy of the
// log key, with builders appending claims and uploading binaries through
// every one at once, and one claim submitted to every frontend: every
// frontend ends up publishing one checkpoint, every claim any of them
// acknowledged is at its index in the tree each serves, the claim sent to
// all got one index, and the invariant checker passes over the HTTP tile
// API of each.
func TestFrontendsOneTree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and several serve processes")
	}
	srv := pgtest.Start(t, false)
	for _, n := range []int{2, 4} {
		t.Run(fmt.Sprintf("frontends=%d", n), func(t *testing.T) {
			url := srv.NewDatabase(t)
			fes := startFrontendClients(t, frontendData(t, n), repeat(url, n))
			ctx, cancel := context.WithCancel(context.Background())
			wg := loadFrontends(ctx, t, fes)
			env := signedClaim(t, "everywhere")
			idx := make([]int64, n)
			var swg sync.WaitGroup
			for f, fe := range fes {
				swg.Go(func() {
					r, err := fe.lc.AddClaim(ctx, &pb.AddClaimRequest{Envelope: env})
					if err != nil {
						t.Errorf("frontend %d: AddClaim: %v", f, err)
						return
					}
					idx[f] = int64(r.Claim.Index)
				})
			}
			swg.Wait()
			for f := range idx {
				if idx[f] != idx[0] {
					t.Errorf("the claim sent to every frontend got indexes %v, want one", idx)
					break
				}
			}
			time.Sleep(1500 * time.Millisecond)
			cancel()
			wg.Wait()
			// bench spreads its builders over every frontend named in --log.
			var addrs []string
			for _, fe := range fes {
				addrs = append(addrs, fe.get("grpc listening on"))
			}
			var out bytes.Buffer
			if err := run(t.Context(), []string{"bench", "--log", strings.Join(addrs, ","), "--mode", "add", "--builders", "8", "--requests", "400", "--json"}, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			var br loadgen.Report
			if err := json.Unmarshal(out.Bytes(), &br); err != nil || br.OK != 400 {
				t.Errorf("bench over %d frontends: %s (%v), want 400 ok", n, out.Bytes(), err)
			}
			r := checkOneTree(t, fes)
			if m := httpGet(t, "http://"+fes[0].http+"/metrics", http.StatusOK, ""); !bytes.Contains(m, []byte("attestlog_log_writer_lock_held_seconds_count")) {
				t.Errorf("/metrics of a frontend lacks the writer lock's histograms")
			}
			if r.Checkpoint.Size < int64(400+len(fes)) {
				t.Errorf("the tree holds %d entries, fewer than bench's 400 claims", r.Checkpoint.Size)
			}
			acked := 0
			for _, fe := range fes {
				acked += len(fe.rec.claims)
				if len(fe.rec.claims) == 0 {
					t.Errorf("a frontend acknowledged no claim")
				}
			}
			t.Logf("%d frontends: %d claims acknowledged, one tree of %d entries", n, acked, r.Checkpoint.Size)
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestFaultKillFrontends is TestFaultKillLog with two `serve` frontends on
// one durable PostgreSQL database: SIGKILL of one mid-batch (possibly
// holding the writer lock) loses no acknowledged claim, the other takes
// over and goes on acknowledging, and after restarts both serve one tree
// holding everything either acknowledged.
func TestFaultKillFrontends(t *testing.T) {
	faultKillFrontends(t, 2, "--store", pgtest.Start(t, true).NewDatabase(t))
}

// TestFrontendLostSwap makes a frontend lose the checkpoint swap for
// real: two frontends under load; frontend A is frozen (SIGSTOP) while
// it holds the store's writer lock, its lock's database session is
// terminated, B takes the lock and commits, and A is thawed. A's batch
// then no longer extends the stored tree: the frontend that loses the
// swap (A, or B if A adopted B's tree and committed first) must discard
// the checkpoint it signed, adopt the other's tree and assign its batch
// again, and both go on with one tree holding everything both
// acknowledged.
func TestFrontendLostSwap(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and several serve processes")
	}
	url := pgtest.Start(t, false).NewDatabase(t)
	fes := startFrontendClients(t, frontendData(t, 2), []string{url + "&application_name=frontend_a", url + "&application_name=frontend_b"})
	a, b := fes[0], fes[1]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wg := loadFrontends(ctx, t, fes)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var loser, winner *frontend
	for attempt := 0; loser == nil; attempt++ {
		if attempt == 200 {
			t.Fatal("no frontend lost the swap in 200 attempts")
		}
		lost := map[*frontend]int{}
		for _, fe := range fes {
			lost[fe] = strings.Count(fe.stderr(), lostSwapMessage)
		}
		a.cmd.Process.Signal(syscall.SIGSTOP)
		var pid int
		// The writer lock only (log/pgstore's writerLockID, "attestwr", as
		// pg_locks splits a bigint key): A's session may also hold the
		// index committer's advisory lock, whose end frees nothing B needs.
		err := conn.QueryRow(ctx, `SELECT l.pid FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
			WHERE l.locktype = 'advisory' AND l.granted AND s.application_name = 'frontend_a'
			AND l.classid = x'61747465'::int::oid AND l.objid = x'73747772'::int::oid AND l.objsubid = 1`).Scan(&pid)
		if errors.Is(err, pgx.ErrNoRows) {
			a.cmd.Process.Signal(syscall.SIGCONT)
			time.Sleep(time.Duration(1+attempt%7) * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatal(err)
		}
		// A frozen inside another transaction may hold a lock B waits on:
		// the publication lock (a row lock that PostgreSQL passes on only
		// after publishIdleTimeout, 2 minutes), whose wait would stall B's
		// acknowledgements past waitFor's deadline. End those sessions too,
		// as that timeout would.
		if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE application_name = 'frontend_a' AND state LIKE 'idle in transaction%' AND pid <> $1`, pid); err != nil {
			t.Fatal(err)
		}
		size := b.rec.len()
		waitFor(t, "B commits while A is frozen", func() bool { return b.rec.len() > size })
		a.cmd.Process.Signal(syscall.SIGCONT)
		for deadline := time.Now().Add(2 * time.Second); loser == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			for _, fe := range fes {
				if strings.Count(fe.stderr(), lostSwapMessage) > lost[fe] {
					loser = fe
				}
			}
		}
		// Without a loss, A had committed before it froze (it noticed the
		// lost lock when letting go of it): try again.
	}
	winner = map[*frontend]*frontend{a: b, b: a}[loser]
	for f, fe := range fes {
		size := fe.rec.len()
		for deadline := time.Now().Add(30 * time.Second); fe.rec.len() <= size+10; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("frontend %d acknowledged %d claims in 30 s after the lost swap; its log:\n%s", f, fe.rec.len()-size, fe.stderr())
			}
		}
		select {
		case <-fe.done:
			t.Fatalf("frontend %d exited:\n%s", f, fe.stderr())
		default:
		}
	}
	cancel()
	wg.Wait()
	r := checkOneTree(t, fes)
	t.Logf("%s lost the swap, assigned its batch again and went on; one tree of %d entries holds all %d claims both acknowledged",
		map[*frontend]string{a: "A", b: "B"}[loser], r.Checkpoint.Size, len(loser.rec.claims)+len(winner.rec.claims))
}

// lostSwapMessage is what a frontend logs when another writer's commit
// won the store's compare-and-swap over its batch.
const lostSwapMessage = "another writer's commit landed after this one took the store's writer lock"

// TestFrontendsReplicaPromotion runs two frontends on a PostgreSQL
// primary with a streaming replica (pg_basebackup -R -X stream), both
// named in the store URL with target_session_attrs=read-write. Under
// load, the primary is stopped and the replica promoted (pg_ctl promote):
// the same frontend processes carry on, acknowledging on the promoted
// replica, and one tree holds everything acknowledged before and after.
func TestFrontendsReplicaPromotion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL servers and several serve processes")
	}
	primary := pgtest.Start(t, false)
	url := primary.NewDatabase(t)
	replica := primary.StartReplica(t)
	db := strings.TrimSuffix(url[strings.LastIndex(url, "/")+1:], "?sslmode=disable")
	store := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/%s?sslmode=disable&target_session_attrs=read-write&connect_timeout=2", primary.Port, replica.Port, db)
	fes := startFrontendClients(t, frontendData(t, 2), []string{store, store})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wg := loadFrontends(ctx, t, fes)
	waitFor(t, "both frontends acknowledge claims", func() bool { return fes[0].rec.len() > 20 && fes[1].rec.len() > 20 })
	primary.Stop(t)
	before := []int{fes[0].rec.len(), fes[1].rec.len()}
	replica.Promote(t)
	for f, fe := range fes {
		waitFor(t, fmt.Sprintf("frontend %d acknowledges claims on the promoted replica", f), func() bool { return fe.rec.len() > before[f]+20 })
	}
	cancel()
	wg.Wait()
	for f, fe := range fes {
		select {
		case <-fe.done:
			t.Fatalf("frontend %d exited:\n%s", f, fe.stderr())
		default:
		}
	}
	r := checkOneTree(t, fes)
	t.Logf("failover: %d and %d claims acknowledged before the primary stopped, %d in the tree after", before[0], before[1], r.Checkpoint.Size)
}

// TestFrontendsWitnessed runs two frontends of one log on one database
// with a witness policy (one witness process): each asks the witness to
// cosign its own latest checkpoint, so the witness often holds a newer one
// (cosigned for the other frontend) than the one a frontend sends. That is
// no rollback: both frontends must keep acknowledging and publish
// witnessed checkpoints of one tree.
func TestFrontendsWitnessed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, a witness and several serve processes")
	}
	wl := newWitnessedLog(t, 1, "w1")
	url := pgtest.Start(t, false).NewDatabase(t)
	data := frontendData(t, 2)
	for _, d := range data {
		copyLogKey(t, wl.logData, d)
	}
	var fes []*frontend
	for _, d := range data {
		p := startProc(t, []string{"log vkey:", "http listening on", "grpc listening on"}, "serve", "--data", d,
			"--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--log-level", "warn", "--store", url, "--policy", wl.policyFile)
		v, _ := note.NewVerifier(p.get("log vkey:"))
		conn, err := grpc.NewClient(p.get("grpc listening on"), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fes = append(fes, &frontend{proc: p, lc: pb.NewLogServiceClient(conn), http: p.get("http listening on"), verifier: v,
			rec: &faultRecord{claims: map[int64][]byte{}, uploads: map[string][]byte{}, checkpoints: map[string]bool{}}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Load on the first frontend only: the second publishes what it
	// follows, up to FollowInterval behind, so that the witness often holds
	// a newer checkpoint than the one the second sends.
	wg := loadFrontends(ctx, t, fes[:1])
	start := time.Now()
	for time.Since(start) < 10*time.Second {
		time.Sleep(500 * time.Millisecond)
		for f, fe := range fes {
			if strings.Contains(fe.stderr(), "rolled back") {
				t.Fatalf("frontend %d says its store was rolled back:\n%s", f, fe.stderr())
			}
		}
	}
	size := fes[0].rec.len()
	waitFor(t, "the loaded frontend still acknowledges", func() bool { return fes[0].rec.len() > size+10 })
	cancel()
	wg.Wait()
	// The second frontend appends too, after all the witnessing.
	if _, err := fes[1].lc.AddClaim(t.Context(), &pb.AddClaimRequest{Envelope: signedClaim(t, "second")}); err != nil {
		t.Errorf("the second frontend refuses a claim: %v", err)
	}
	for _, fe := range fes {
		waitFor(t, "a witnessed checkpoint is published", func() bool { return httpCheckpoint(fe.http) != nil })
		publishedCheckpoint(t, fe.http, wl.policy)
	}
	checkNothingLost(t, fes[0].lc, fes[0].http, fes[0].verifier, &faultRecord{claims: fes[1].rec.claims, checkpoints: fes[1].rec.checkpoints})
}

// TestFrontendsIndexCommitter runs two `serve` frontends on one PostgreSQL
// database, each with the verifiable index's committer due every 16
// entries or 300 ms, and builders appending claims through both. Exactly
// one frontend at a time may commit the index: neither logs an error
// about committing it (frontends that raced each applied the same
// entries to the map and failed with "index N is not after the key's
// last index"), commitments keep coming while the load runs, a last one
// covers every entry once the load stops, and the invariant checker,
// which recomputes every commitment's root from the entries, passes on
// both.
func TestFrontendsIndexCommitter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and two serve processes")
	}
	url := pgtest.Start(t, false).NewDatabase(t)
	fes := startFrontendClients(t, frontendData(t, 2), repeat(url, 2), "--index-entries", "16", "--index-age", "300ms", "--log-level", "debug")
	ctx, cancel := context.WithCancel(context.Background())
	wg := loadFrontends(ctx, t, fes)
	time.Sleep(6 * time.Second)
	cancel()
	wg.Wait()
	r := checkOneTree(t, fes)
	// The last entries get their commitment within a few polls.
	waitFor(t, "a commitment covers every entry", func() bool {
		cp := httpCheckpoint(fes[0].http)
		rep, err := client.CheckLog(context.Background(), client.HTTPFetcher{Base: "http://" + fes[0].http}, fes[0].verifier)
		if err != nil || cp == nil {
			t.Logf("CheckLog: %v", err)
			return false
		}
		r = &rep
		n := rep.Checkpoint.Size
		e, err := client.HTTPFetcher{Base: "http://" + fes[0].http}.Fetch(context.Background(),
			tiles.Path(tlog.Tile{H: tiles.Height, L: tiles.EntriesLevel, N: (n - 1) / tiles.Width, W: int((n-1)%tiles.Width) + 1}))
		if err != nil {
			return false
		}
		b, err := tiles.ParseEntryBundle(e)
		if err != nil || len(b) == 0 {
			return false
		}
		_, err = vindex.ParseCommitment(b[len(b)-1])
		return err == nil
	})
	checkOneTree(t, fes)
	// Load of 6 s with a commitment due every 300 ms at the latest: a
	// committer that keeps losing to the other one, or stops, makes few.
	if r.Commitments < 5 {
		t.Errorf("%d index commitments over %d entries, want at least 5", r.Commitments, r.Checkpoint.Size)
	}
	for f, fe := range fes {
		for _, line := range strings.Split(fe.stderr(), "\n") {
			if strings.Contains(line, "ERROR") || strings.Contains(line, "level=ERROR") || strings.Contains(line, "committing the index") {
				t.Errorf("frontend %d logged: %s", f, line)
			}
		}
	}
	t.Logf("%d entries, %d index commitments", r.Checkpoint.Size, r.Commitments)
}
