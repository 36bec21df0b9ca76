package scheme_test

import (
	"encoding/base64"
	"os"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func osWrite(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }
