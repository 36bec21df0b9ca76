package log

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// envIndexCrashDir is set only by TestIndexCrash, for its child.
const envIndexCrashDir = "ATTESTLOG_INDEX_CRASH_DIR"

// indexCrashRounds replays the child's deterministic history: for each
// interval, its claims, then commit, which must add the commitment entry
// (sim.commit, or sim.size++), until commit returns false.
func indexCrashRounds(sim *indexSim, commit func() bool) {
	for {
		sim.claims(20 + sim.r.IntN(300))
		if !commit() {
			return
		}
	}
}

// TestIndexCrash kills, at random moments, a child process that commits
// index updates as the committer does (each commitment's strata, deletes
// and state in one batch), reopens the store each time and checks that the
// index's state names the map the entries give at both commitments it
// serves, that both prove keys present and absent, and that the store
// holds exactly the deltas the state lists (the child merges every three).
func TestIndexCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and reopens a store many times")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, uint64(time.Now().UnixNano())))
	var last int64 = -1
	progressed := 0
	for i := range 15 {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestIndexCrashChild$")
		cmd.Env = append(os.Environ(), envIndexCrashDir+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() && !strings.HasPrefix(sc.Text(), "started") {
		}
		time.Sleep(time.Duration(30+rng.IntN(300)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()

		s, err := OpenBolt(filepath.Join(dir, "log.db"))
		if err != nil {
			t.Fatal(err)
		}
		st, err := readIndexState(s)
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		if st.Latest.Index > last {
			progressed++
		}
		last = st.Latest.Index
		checkIndexAfterCrash(t, i, s, st)
		s.Close()
		if t.Failed() {
			return
		}
	}
	if progressed < 5 {
		t.Errorf("the index moved in only %d of 15 runs: the child did not get to commit", progressed)
	}
	t.Logf("15 kills; the index moved in %d runs, to commitment %d", progressed, last)
}

func checkIndexAfterCrash(t *testing.T, kill int, s Store, st indexState) {
	t.Helper()
	if st.Latest.Index < 0 {
		return
	}
	sim := newIndexSim(s, 9)
	var ref refMap
	indexCrashRounds(sim, func() bool {
		idx := sim.size
		ref.commit(t, sim, idx)
		sim.size++
		return idx < st.Latest.Index
	})
	sim.proveServed(t, st, 30, ref.roots)
	checkDeltas(t, s, st)
}

// TestIndexCrashChild is the process TestIndexCrash kills; it does nothing
// otherwise. It replays the history the store already holds, then commits
// until it is killed.
func TestIndexCrashChild(t *testing.T) {
	dir := os.Getenv(envIndexCrashDir)
	if dir == "" {
		t.Skip("run by TestIndexCrash")
	}
	mergeDeltas, mergeSteps = 3, 2 // so that kills also land in merges, and in their steps
	s, err := OpenBolt(filepath.Join(dir, "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := readIndexState(s)
	if err != nil {
		t.Fatal(err)
	}
	sim := newIndexSim(s, 9)
	started := false
	indexCrashRounds(sim, func() bool {
		if sim.size > st.Latest.Index {
			if !started {
				// The replay is done: the kill's delay counts from the
				// first new commitment, however long the history has grown.
				fmt.Println("started")
				started = true
			}
			sim.commit(t)
		} else {
			sim.size++ // committed before the last kill
		}
		return true
	})
}
