package objstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

// ErrMalformedURL is wrapped by every error that [ParseURL] returns.
var ErrMalformedURL = errors.New("objstore: malformed s3:// URL")

// A Location names the buckets of a log, as the command line spells them:
//
//	s3://<bucket>[?endpoint=<http(s) URL>][&region=<region>][&archive=<bucket>][&retention_days=<days>]
//
// The query parameters may come in any order, each at most once.
type Location struct {
	// Bucket holds the tlog-tiles resources.
	Bucket string
	// Endpoint is the base URL of the S3 API, e.g. "http://127.0.0.1:7480";
	// empty means AWS's own endpoint for Region. With an endpoint, buckets
	// are addressed path-style.
	Endpoint string
	// Region is the signing region; empty means the SDK's (AWS_REGION), or
	// else "us-east-1".
	Region string
	// Archive is the bucket of the artifact archive; empty keeps the
	// archive in the log's data directory.
	Archive string
	// RetentionDays is how long an archived artifact is locked; 0 means
	// [DefaultRetentionDays].
	RetentionDays int
}

// ParseURL parses an s3:// URL into a Location. It accepts one spelling
// only: what [Location.String] returns. Credentials in the URL are refused:
// they would show in the process list; the SDK reads them from its
// environment variables or profile.
func ParseURL(s string) (Location, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Location{}, fmt.Errorf("%w: %v", ErrMalformedURL, err)
	}
	switch {
	case u.Scheme != "s3":
		return Location{}, fmt.Errorf("%w: scheme %q, want s3://<bucket>", ErrMalformedURL, u.Scheme)
	case u.User != nil:
		return Location{}, fmt.Errorf("%w: credentials in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead", ErrMalformedURL)
	case u.Path != "" || u.Fragment != "" || u.Opaque != "":
		return Location{}, fmt.Errorf("%w: %q: only s3://<bucket>?<parameters>, no path", ErrMalformedURL, s)
	}
	loc := Location{Bucket: u.Host}
	if err := checkBucketName(loc.Bucket); err != nil {
		return Location{}, err
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Location{}, fmt.Errorf("%w: query: %v", ErrMalformedURL, err)
	}
	for k, v := range q {
		if len(v) != 1 || v[0] == "" {
			return Location{}, fmt.Errorf("%w: parameter %s must be given once, with a value", ErrMalformedURL, k)
		}
		switch k {
		case "endpoint":
			loc.Endpoint = v[0]
		case "region":
			loc.Region = v[0]
		case "archive":
			loc.Archive = v[0]
		case "retention_days":
			n, err := strconv.Atoi(v[0])
			if err != nil || n <= 0 || strconv.Itoa(n) != v[0] || n > maxRetentionDays {
				return Location{}, fmt.Errorf("%w: retention_days %q is not a number of days from 1 to %d", ErrMalformedURL, v[0], maxRetentionDays)
			}
			loc.RetentionDays = n
		default:
			return Location{}, fmt.Errorf("%w: unknown parameter %q (endpoint, region, archive, retention_days)", ErrMalformedURL, k)
		}
	}
	if loc.Endpoint != "" {
		e, err := url.Parse(loc.Endpoint)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || e.User != nil ||
			(e.Path != "" && e.Path != "/") || e.RawQuery != "" || e.Fragment != "" {
			return Location{}, fmt.Errorf("%w: endpoint %q is not an http:// or https:// URL of a host", ErrMalformedURL, loc.Endpoint)
		}
	}
	if loc.Archive != "" {
		if err := checkBucketName(loc.Archive); err != nil {
			return Location{}, err
		}
		if loc.Archive == loc.Bucket {
			return Location{}, fmt.Errorf("%w: the archive needs a bucket of its own, not %s", ErrMalformedURL, loc.Bucket)
		}
	} else if loc.RetentionDays != 0 {
		return Location{}, fmt.Errorf("%w: retention_days without archive", ErrMalformedURL)
	}
	if got := loc.String(); got != s {
		return Location{}, fmt.Errorf("%w: %q: write it as %q", ErrMalformedURL, s, got)
	}
	return loc, nil
}

// String returns the s3:// URL of loc, with its parameters in a fixed order.
func (loc Location) String() string {
	var q []string
	add := func(k, v string) {
		if v != "" {
			q = append(q, k+"="+queryEscape(v))
		}
	}
	add("endpoint", loc.Endpoint)
	add("region", loc.Region)
	add("archive", loc.Archive)
	if loc.RetentionDays != 0 {
		add("retention_days", strconv.Itoa(loc.RetentionDays))
	}
	s := "s3://" + loc.Bucket
	if len(q) > 0 {
		s += "?" + strings.Join(q, "&")
	}
	return s
}

// checkBucketName accepts the S3 bucket names of the current rules: 3 to 63
// lowercase letters, digits, dots and hyphens, starting and ending with a
// letter or digit.
func checkBucketName(b string) error {
	ok := len(b) >= 3 && len(b) <= 63
	for i := 0; ok && i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		ok = alnum || (c == '.' || c == '-') && i > 0 && i < len(b)-1
	}
	if !ok {
		return fmt.Errorf("%w: bucket name %q: want 3 to 63 lowercase letters, digits, dots and hyphens", ErrMalformedURL, b)
	}
	return nil
}

// queryEscape escapes v for a query value, leaving alone the characters of
// an endpoint URL that need no escaping there, so that the usual spelling
// s3://b?endpoint=http://host:port is the accepted one.
func queryEscape(v string) string {
	const keep = "-._~:/@!$'()*,"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// OpenLocation opens and checks the buckets at loc, as serve and migrate
// both need them: the tiles bucket ([OpenBucket]) and, if loc names one,
// the archive bucket as an [Archive] of binaries up to maxSize bytes
// (nil otherwise). Errors about the archive bucket start "archive: ".
func OpenLocation(ctx context.Context, loc Location, maxSize int64, noLock bool, logger *slog.Logger) (*Bucket, *Archive, error) {
	cfg := Config{Endpoint: loc.Endpoint, Region: loc.Region, Logger: logger}
	b, err := OpenBucket(ctx, cfg, loc.Bucket)
	if err != nil {
		return nil, nil, err
	}
	if loc.Archive == "" {
		return b, nil, nil
	}
	ab, err := ConnectBucket(ctx, cfg, loc.Archive)
	if err != nil {
		return nil, nil, fmt.Errorf("archive: %w", err)
	}
	a, err := OpenArchive(ctx, ArchiveConfig{Bucket: ab, MaxSize: maxSize, RetentionDays: loc.RetentionDays, NoLock: noLock, Logger: logger})
	if err != nil {
		return nil, nil, fmt.Errorf("archive: %w", err)
	}
	return b, a, nil
}
