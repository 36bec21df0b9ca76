package witness

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// Config configures a [Witness]. Key and Logs are required; every other zero
// value means the documented default.
type Config struct {
	// Key is the witness's signed-note Ed25519 private key
	// ("PRIVATE+KEY+<name>+<key ID>+<base64>", as note.GenerateKey returns).
	// Its name is the witness's name. The witness signs cosignature/v1
	// cosignatures with it, under the type 0x04 key ID of [Witness.VerifierKey].
	Key string
	// Logs are the logs the witness cosigns for; at least one, each origin once.
	// See [ParseLogs] for their file format.
	Logs []Log
	// Logger receives the witness's structured logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Cosignature timestamps are its
	// Unix seconds, but never earlier than a timestamp already used.
	Now func() time.Time
	// MaxEvidence is the most [Evidence] records the witness keeps per log;
	// zero means DefaultMaxEvidence. Past it, new evidence of that log is
	// dropped and counted, and the oldest records stay: the first fork shown
	// is the one that matters.
	MaxEvidence int
	// RefreshInterval is how old the cosignature of a log's latest cosigned
	// checkpoint may get before a request replaying that checkpoint gets a
	// fresh one instead of the stored one; zero means DefaultRefreshInterval.
	RefreshInterval time.Duration
}

// Defaults of [Config] fields.
const (
	DefaultMaxEvidence     = 1000
	DefaultRefreshInterval = time.Minute
)

// A Log is a log the witness trusts.
type Log struct {
	// Origin is the log's checkpoint origin line.
	Origin string
	// Keys are the log's signed-note Ed25519 verifier keys, each named Origin.
	// A checkpoint needs a valid signature by at least one of them.
	Keys []string
	// RequestsPerDay, if positive, is the log's budget of new cosignatures
	// per day: only requests that lead to a new cosignature spend it; see
	// [Witness.AddCheckpoint]. Zero means no limit.
	RequestsPerDay int64
}

// ParseLogs parses a logs file, which lists the logs a witness trusts:
//
//	# comment
//	log <vkey> [<requests per day>]
//
// A log's origin is its verifier key's name. Several lines with one origin
// give that log several trusted keys; a budget may be on any of them, and
// must not differ between them. Blank lines are ignored, as is everything
// from a field starting with '#' to the end of its line. Fields are
// separated by white space. Keys must be signed-note Ed25519 verifier
// keys, each listed once, and budgets positive decimals. The logs are
// returned in the order of their first lines. Errors name the line.
func ParseLogs(data []byte) ([]Log, error) {
	var (
		logs   []Log
		index  = make(map[string]int) // origin -> index in logs
		budget = make(map[string]int) // origin -> line that set its budget
		keys   = make(map[keyID]int)  // name and key ID -> line
		vkeys  = make(map[string]int) // vkey -> line
		lines  = bytes.Split(data, []byte("\n"))
	)
	for i, line := range lines {
		num := i + 1
		fields := strings.Fields(string(line))
		if j := commentField(fields); j >= 0 {
			fields = fields[:j]
		}
		if len(fields) == 0 {
			continue
		}
		if fields[0] != "log" {
			return nil, fmt.Errorf("witness: logs line %d: unknown keyword %q, want \"log\"", num, fields[0])
		}
		if len(fields) < 2 || len(fields) > 3 {
			return nil, fmt.Errorf("witness: logs line %d: want \"log <vkey> [<requests per day>]\"", num)
		}
		vkey := fields[1]
		v, err := note.NewVerifier(vkey)
		if err != nil {
			return nil, fmt.Errorf("witness: logs line %d: malformed verifier key %q: %v", num, vkey, err)
		}
		if prev, ok := vkeys[vkey]; ok {
			return nil, fmt.Errorf("witness: logs line %d: verifier key already listed on line %d", num, prev)
		}
		vkeys[vkey] = num
		id := keyID{v.Name(), v.KeyHash()}
		if prev, ok := keys[id]; ok {
			return nil, fmt.Errorf("witness: logs line %d: key name and ID %s+%08x already used on line %d", num, id.name, id.hash, prev)
		}
		keys[id] = num
		origin := v.Name()
		j, ok := index[origin]
		if !ok {
			j = len(logs)
			index[origin] = j
			logs = append(logs, Log{Origin: origin})
		}
		logs[j].Keys = append(logs[j].Keys, vkey)
		if len(fields) == 3 {
			n, err := strconv.ParseInt(fields[2], 10, 64)
			if err != nil || n <= 0 || strconv.FormatInt(n, 10) != fields[2] {
				return nil, fmt.Errorf("witness: logs line %d: requests per day %q is not a positive decimal", num, fields[2])
			}
			if prev, ok := budget[origin]; ok && logs[j].RequestsPerDay != n {
				return nil, fmt.Errorf("witness: logs line %d: budget %d of %s differs from %d on line %d", num, n, origin, logs[j].RequestsPerDay, prev)
			}
			budget[origin] = num
			logs[j].RequestsPerDay = n
		}
	}
	return logs, nil
}

// commentField returns the index of the first field starting with '#', or -1.
func commentField(fields []string) int {
	for i, f := range fields {
		if strings.HasPrefix(f, "#") {
			return i
		}
	}
	return -1
}

// A keyID is what a signature line names: a key name and a 32-bit key ID.
type keyID struct {
	name string
	hash uint32
}

// A logConfig is a [Log] ready for use.
type logConfig struct {
	origin    string
	verifiers note.Verifiers
	budget    *budget // nil if unlimited
	drops     dropWarner
}

// validate checks c and returns it with defaults filled in, and its logs by origin.
func (c Config) validate() (Config, map[string]*logConfig, error) {
	if c.Key == "" {
		return c, nil, errors.New("witness: config: no key")
	}
	if len(c.Logs) == 0 {
		return c, nil, errors.New("witness: config: no logs")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	switch {
	case c.MaxEvidence < 0:
		return c, nil, fmt.Errorf("witness: config: negative MaxEvidence %d", c.MaxEvidence)
	case c.MaxEvidence == 0:
		c.MaxEvidence = DefaultMaxEvidence
	}
	switch {
	case c.RefreshInterval < 0:
		return c, nil, fmt.Errorf("witness: config: negative RefreshInterval %v", c.RefreshInterval)
	case c.RefreshInterval == 0:
		c.RefreshInterval = DefaultRefreshInterval
	}
	logs := make(map[string]*logConfig, len(c.Logs))
	keys := make(map[keyID]bool)
	for _, l := range c.Logs {
		switch {
		case l.Origin == "":
			return c, nil, errors.New("witness: config: log with an empty origin")
		case logs[l.Origin] != nil:
			return c, nil, fmt.Errorf("witness: config: log %s listed twice", l.Origin)
		case len(l.Keys) == 0:
			return c, nil, fmt.Errorf("witness: config: log %s has no keys", l.Origin)
		case l.RequestsPerDay < 0:
			return c, nil, fmt.Errorf("witness: config: log %s has a negative budget", l.Origin)
		}
		var vs []note.Verifier
		for _, k := range l.Keys {
			v, err := note.NewVerifier(k)
			if err != nil {
				return c, nil, fmt.Errorf("witness: config: log %s: malformed verifier key %q: %v", l.Origin, k, err)
			}
			if v.Name() != l.Origin {
				return c, nil, fmt.Errorf("witness: config: log %s: key named %q, want the origin", l.Origin, v.Name())
			}
			// note.Open refuses a note whose signature matches two keys.
			id := keyID{v.Name(), v.KeyHash()}
			if keys[id] {
				return c, nil, fmt.Errorf("witness: config: log %s: key ID %08x listed twice", l.Origin, id.hash)
			}
			keys[id] = true
			vs = append(vs, v)
		}
		logs[l.Origin] = &logConfig{
			origin:    l.Origin,
			verifiers: note.VerifierList(vs...),
			budget:    newBudget(l.RequestsPerDay, c.Now()),
		}
	}
	c.Logs = append([]Log(nil), c.Logs...)
	return c, logs, nil
}
