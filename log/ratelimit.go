package log

import (
	"math"
	"sync"
	"time"
)

// A rateLimiter is a set of token buckets: one shared by everybody and one
// per key (a builder's vkey). A zero rate means no limit. It is safe for
// concurrent use.
type rateLimiter struct {
	now     func() time.Time
	perKey  float64 // tokens per second for each key
	mu      sync.Mutex
	global  bucket
	buckets map[string]*bucket // guarded by mu
}

// maxBuckets bounds the per-key buckets kept; when reached, full ones are dropped.
const maxBuckets = 100_000

type bucket struct {
	rate, tokens float64
	last         time.Time
}

func newRateLimiter(global, perKey float64, now func() time.Time) *rateLimiter {
	return &rateLimiter{now: now, perKey: perKey, global: bucket{rate: global, tokens: burst(global)}, buckets: map[string]*bucket{}}
}

// burst is a bucket's capacity: one second's worth, at least one token.
func burst(rate float64) float64 { return math.Max(1, rate) }

// take removes a token, or returns how long until one is available.
func (b *bucket) take(now time.Time) (time.Duration, bool) {
	if b.rate <= 0 {
		return 0, true
	}
	b.tokens = math.Min(burst(b.rate), b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second)), false
}

// allow takes a token from the global bucket and from each key's bucket, or
// none of them and reports how long to wait.
func (r *rateLimiter) allow(keys []string) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	saved := r.global
	if d, ok := r.global.take(now); !ok {
		return d, false
	}
	if r.perKey <= 0 {
		return 0, true
	}
	taken := make([]*bucket, 0, len(keys))
	prev := make([]bucket, 0, len(keys))
	for _, k := range keys {
		b := r.bucketFor(k, now)
		prev = append(prev, *b)
		if d, ok := b.take(now); !ok {
			r.global = saved
			for i, t := range taken {
				*t = prev[i]
			}
			return d, false
		}
		taken = append(taken, b)
	}
	return 0, true
}

func (r *rateLimiter) bucketFor(key string, now time.Time) *bucket {
	if b, ok := r.buckets[key]; ok {
		return b
	}
	if len(r.buckets) >= maxBuckets {
		for k, b := range r.buckets {
			if b.tokens+now.Sub(b.last).Seconds()*b.rate >= burst(b.rate) {
				delete(r.buckets, k)
			}
		}
	}
	b := &bucket{rate: r.perKey, tokens: burst(r.perKey), last: now}
	r.buckets[key] = b
	return b
}
