package main

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

	"github.com/attestlog/attestlog/log/claim"
	"golang.org/x/mod/sumdb/note"
)

// Files in the serve data directory.
const (
	keyFile  = "log.key"
	vkeyFile = "log.vkey"
	dbFile   = "log.db"
)

// maxKeyFileSize bounds what readKey reads; a signed-note key is ~100 bytes
// plus its name.
const maxKeyFileSize = 4096

// openLogKey returns the signer in dir/log.key and its verifier key, after
// checking that the key is named origin and readable by its owner only. If
// log.key does not exist and create is set, it generates a key pair named
// origin and writes log.key and log.vkey; without create that is an error,
// since the log already has state signed by some other key. It writes
// log.vkey if missing, and fails if log.vkey holds another key.
func openLogKey(dir, origin string, create bool) (signer note.Signer, vkey string, err error) {
	keyPath, vkeyPath := filepath.Join(dir, keyFile), filepath.Join(dir, vkeyFile)
	skey, err := readKey(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		skey, vkey, err = note.GenerateKey(rand.Reader, origin)
		if err != nil {
			return nil, "", fmt.Errorf("generating log key named %q: %w", origin, err)
		}
		if err := writeFileAtomic(keyPath, []byte(skey+"\n"), 0o600, false); err != nil {
			return nil, "", err
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", fmt.Errorf("%s holds a log but %s is missing; refusing to sign it with a new key", filepath.Join(dir, dbFile), keyPath)
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
	if vkey, err = verifierKey(skey); err != nil {
		return nil, "", fmt.Errorf("parsing %s: %w", keyPath, err)
	}
	switch old, err := os.ReadFile(vkeyPath); {
	case errors.Is(err, fs.ErrNotExist):
		if err := writeFileAtomic(vkeyPath, []byte(vkey+"\n"), 0o644, true); err != nil {
			return nil, "", err
		}
	case err != nil:
		return nil, "", err
	case strings.TrimSpace(string(old)) != vkey:
		return nil, "", fmt.Errorf("%s does not hold the verifier key of %s (%s)", vkeyPath, keyPath, vkey)
	}
	return signer, vkey, nil
}

// checkKeyName is [claim.CheckKeyName] with a hint, for the names of logs
// (origins) and witnesses: note.GenerateKey does not check names, so a bad
// one would give a key file that no signer accepts.
func checkKeyName(name string) error {
	if err := claim.CheckKeyName(name); err != nil {
		return fmt.Errorf(`%w; a valid name is like "example.com/attestlog": no spaces, no '+', no control characters`, err)
	}
	return nil
}

// readKey reads a private key file, refusing one that group or others may
// read, as ssh does.
func readKey(path string) (string, error) {
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

// verifierKey returns the verifier key of skey, a signed-note Ed25519
// private key already accepted by note.NewSigner:
//
//	PRIVATE+KEY+<name>+<key hash, 8 hex digits>+<base64(0x01 || 32-byte seed)>
func verifierKey(skey string) (string, error) {
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

// writeFileAtomic writes data to path with mode perm, so that path holds
// either its old contents or all of data, even after a crash: it writes and
// syncs a temporary file in the same directory, then renames it over path
// (or, without overwrite, hard-links it to path, which fails if path exists),
// then syncs the directory.
func writeFileAtomic(path string, data []byte, perm fs.FileMode, overwrite bool) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil || !overwrite {
			os.Remove(tmp)
		}
	}()
	// CreateTemp makes the file 0600, so no one else can read data before Chmod.
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if overwrite {
			err = os.Rename(tmp, path)
		} else {
			err = os.Link(tmp, path)
		}
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("writing %s: syncing directory: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
