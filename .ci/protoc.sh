#!/usr/bin/env sh
# Regenerates the Go code of proto/ with Debian's protoc and pinned plugins
# (STYLE.md section 3): protoc-gen-go at the version go.mod pins for the
# protobuf runtime, protoc-gen-go-grpc at v1.6.2. Plugins go to .bin/.
# Run from anywhere; `go generate ./proto/...` calls it.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
GOBIN="$root/.bin" go install google.golang.org/protobuf/cmd/protoc-gen-go
GOBIN="$root/.bin" go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
cd proto
find . -name '*.pb.go' -delete
PATH="$root/.bin:$PATH" protoc -I . \
  --go_out=. --go_opt=paths=source_relative \
  --go-grpc_out=. --go-grpc_opt=paths=source_relative \
  $(find . -name '*.proto' | sed 's|^\./||' | sort)
