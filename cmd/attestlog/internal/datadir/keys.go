package datadir

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/attestlog/attestlog/internal/atomicfile"
	"github.com/attestlog/attestlog/log/claim"
	"golang.org/x/mod/sumdb/note"
)

// Files in the data directories of serve and witness.
const (
	LogKey      = "log.key"      // the log's signing key, mode 0600
	LogVKey     = "log.vkey"     // its verifier key, mode 0644
	LogDB       = "log.db"       // the log's bbolt store
	WitnessKey  = "witness.key"  // the witness's signing key, mode 0600
	WitnessVKey = "witness.vkey" // its cosignature verifier key, mode 0644
	WitnessDB   = "witness.db"   // the witness's bbolt state
)

// maxKeyFileSize bounds what ReadKey reads; a signed-note key is ~100 bytes
// plus its name.
const maxKeyFileSize = 4096

// OpenLogKey returns the signer in dir/log.key and its verifier key, after
// checking that the key is named origin and readable by its owner only. If
// log.key does not exist and create is set, it generates a key pair named
// origin and writes log.key and log.vkey; without create that is an error,
// since the log already has state signed by some other key. It writes
// log.vkey if missing, and fails if log.vkey holds another key.
func OpenLogKey(dir, origin string, create bool) (signer note.Signer, vkey string, err error) {
	keyPath, vkeyPath := filepath.Join(dir, LogKey), filepath.Join(dir, LogVKey)
	skey, err := ReadKey(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		skey, vkey, err = note.GenerateKey(rand.Reader, origin)
		if err != nil {
			return nil, "", fmt.Errorf("generating log key named %q: %w", origin, err)
		}
		if err := atomicfile.Write(keyPath, []byte(skey+"\n"), 0o600, false); err != nil {
			return nil, "", err
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", fmt.Errorf("%s holds a log but %s is missing; refusing to sign it with a new key", filepath.Join(dir, LogDB), keyPath)
	case err != nil:
		return nil, "", err
	}
	signer, err = note.NewSigner(skey)
	if err != nil {
		return nil, "", fmt.Errorf("parsing %s: %w", keyPath, err)
	}
	if signer.Name() != origin {
		return nil, "", fmt.Errorf("%s is a key named %q, but the origin is %q", keyPath, signer.Name(), origin)
	}
	if vkey, err = VerifierKey(skey); err != nil {
		return nil, "", fmt.Errorf("parsing %s: %w", keyPath, err)
	}
	switch old, err := os.ReadFile(vkeyPath); {
	case errors.Is(err, fs.ErrNotExist):
		if err := atomicfile.Write(vkeyPath, []byte(vkey+"\n"), 0o644, true); err != nil {
			return nil, "", err
		}
	case err != nil:
		return nil, "", err
	case strings.TrimSpace(string(old)) != vkey:
		return nil, "", fmt.Errorf("%s does not hold the verifier key of %s (%s)", vkeyPath, keyPath, vkey)
	}
	return signer, vkey, nil
}

// CheckKeyName is [claim.CheckKeyName] with a hint, for the names of logs
// (origins) and witnesses: note.GenerateKey does not check names, so a bad
// one would give a key file that no signer accepts.
func CheckKeyName(name string) error {
	if err := claim.CheckKeyName(name); err != nil {
		return fmt.Errorf(`%w; a valid name is like "example.com/attestlog": no spaces, no '+', no control characters`, err)
	}
	return nil
}

// ReadKey reads a private key file, refusing one that group or others may
// read, as ssh does.
func ReadKey(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s has mode %#o, readable by group or others; chmod it to 0600", path, perm)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	if len(b) > maxKeyFileSize {
		return "", fmt.Errorf("%s is larger than %d bytes; not a signed-note key", path, maxKeyFileSize)
	}
	return strings.TrimSpace(string(b)), nil
}

// VerifierKey returns the verifier key of skey, a signed-note Ed25519
// private key already accepted by note.NewSigner:
//
//	PRIVATE+KEY+<name>+<key hash, 8 hex digits>+<base64(0x01 || 32-byte seed)>
func VerifierKey(skey string) (string, error) {
	// The base64 key may itself contain "+"; names and hashes may not.
	parts := strings.SplitN(strings.TrimPrefix(skey, "PRIVATE+KEY+"), "+", 3)
	if len(parts) != 3 {
		return "", errors.New("malformed signed-note private key")
	}
	key, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) != 1+ed25519.SeedSize || key[0] != 1 {
		return "", errors.New("not a signed-note Ed25519 private key")
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[0], pub)
}

// OpenWitnessKey returns the private key in dir/witness.key, after checking
// that it is named name and readable by its owner only. If the file does
// not exist and create is set, it generates a key named name; without
// create that is an error, since the witness already has state that its
// clients tie to the lost key.
func OpenWitnessKey(dir, name string, create bool) (string, error) {
	path := filepath.Join(dir, WitnessKey)
	skey, err := ReadKey(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		skey, _, err = note.GenerateKey(rand.Reader, name)
		if err != nil {
			return "", fmt.Errorf("generating witness key named %q: %w", name, err)
		}
		if err := atomicfile.Write(path, []byte(skey+"\n"), 0o600, false); err != nil {
			return "", err
		}
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%s holds a witness's state but %s is missing; refusing to continue with a new key", filepath.Join(dir, WitnessDB), path)
	case err != nil:
		return "", err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return "", fmt.Errorf("parsing %s: %w", path, err)
	}
	if signer.Name() != name {
		return "", fmt.Errorf("%s is a key named %q, but --name is %q", path, signer.Name(), name)
	}
	return skey, nil
}

// WriteVerifierKey writes vkey to path (mode 0644) if path does not exist,
// and fails if it holds another key.
func WriteVerifierKey(path, vkey string) error {
	switch old, err := os.ReadFile(path); {
	case errors.Is(err, fs.ErrNotExist):
		return atomicfile.Write(path, []byte(vkey+"\n"), 0o644, true)
	case err != nil:
		return err
	case strings.TrimSpace(string(old)) != vkey:
		return fmt.Errorf("%s does not hold the witness's cosignature verifier key (%s)", path, vkey)
	}
	return nil
}

// ReadLogKey reads the log's key from the data directory, without
// writing anything there (OpenLogKey would write a missing log.vkey).
func ReadLogKey(dir string) (note.Signer, note.Verifier, string, error) {
	skey, err := ReadKey(filepath.Join(dir, LogKey))
	if err != nil {
		return nil, nil, "", fmt.Errorf("the log's key: %w", err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, nil, "", fmt.Errorf("parsing %s: %w", filepath.Join(dir, LogKey), err)
	}
	vkey, err := VerifierKey(skey)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", filepath.Join(dir, LogKey), err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", filepath.Join(dir, LogKey), err)
	}
	return signer, verifier, vkey, nil
}

// WriteKeyPair generates a signed-note Ed25519 key pair named name and
// writes the private key to prefix.key (mode 0600) and the verifier key to
// prefix.vkey (mode 0644). It refuses to overwrite either file. The caller
// checks name ([claim.CheckKeyName]).
func WriteKeyPair(prefix, name string) (vkey string, err error) {
	keyPath, vkeyPath := prefix+".key", prefix+".vkey"
	for _, p := range []string{keyPath, vkeyPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", fmt.Errorf("%s already exists; not overwriting it", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", fmt.Errorf("generating key named %q: %w", name, err)
	}
	if err := atomicfile.Write(keyPath, []byte(skey+"\n"), 0o600, false); err != nil {
		return "", err
	}
	return vkey, atomicfile.Write(vkeyPath, []byte(vkey+"\n"), 0o644, false)
}

// LoadBuilderKey reads a builder's private key and its verifier key (from
// vkeyPath, or beside the key) and checks that they are one key pair by
// signing a note and verifying it.
func LoadBuilderKey(keyPath, vkeyPath string) (claim.Key, error) {
	if vkeyPath == "" {
		vkeyPath = strings.TrimSuffix(keyPath, ".key") + ".vkey"
	}
	skey, err := ReadKey(keyPath)
	if err != nil {
		return claim.Key{}, fmt.Errorf("reading builder key: %w", err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return claim.Key{}, fmt.Errorf("%s: %w", keyPath, err)
	}
	b, err := os.ReadFile(vkeyPath)
	if err != nil {
		return claim.Key{}, fmt.Errorf("reading builder verifier key: %w", err)
	}
	vkey := strings.TrimSpace(string(b))
	v, err := claim.ParseVKey(vkey)
	if err != nil {
		return claim.Key{}, fmt.Errorf("%s: %w", vkeyPath, err)
	}
	msg, err := note.Sign(&note.Note{Text: "attestlog builder key check\n"}, signer)
	if err == nil {
		_, err = note.Open(msg, note.VerifierList(v))
	}
	if err != nil {
		return claim.Key{}, fmt.Errorf("%s and %s are not one key pair: %w", keyPath, vkeyPath, err)
	}
	return claim.Key{Signer: signer, VKey: vkey}, nil
}
