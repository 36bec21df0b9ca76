package witness

import (
	"sync"
	"time"
)

// minBurst is the smallest burst of a log's budget, unless the whole daily
// budget is smaller: a log that restarts may retry a few times in a row.
const minBurst = 10

// A budget limits a log's new cosignatures to a number per day: a
// token bucket refilled continuously, holding a twenty-fourth of the daily
// budget (an hour's worth) but at least minBurst. It is the generic cell
// rate algorithm, in integer nanoseconds so that Retry-After is exact. It
// is safe for concurrent use.
type budget struct {
	interval time.Duration // one request's worth of time: a day / requests per day
	window   time.Duration // burst * interval

	mu  sync.Mutex
	tat time.Time // guarded by mu: when the bucket will be full again
}

// newBudget returns a full budget of perDay requests per day, or nil for no
// limit if perDay is zero.
func newBudget(perDay int64, now time.Time) *budget {
	if perDay <= 0 {
		return nil
	}
	burst := max(perDay/24, min(minBurst, perDay))
	interval := max(24*time.Hour/time.Duration(perDay), 1)
	return &budget{interval: interval, window: time.Duration(burst) * interval, tat: now}
}

// take spends one request of the budget at time now. If none is left, it
// returns false and how long until one is. A clock that goes backwards
// makes the budget stricter, never looser.
func (b *budget) take(now time.Time) (ok bool, retryAfter time.Duration) {
	return b.spend(now, true)
}

// check is take without spending: it reports whether take would succeed now.
func (b *budget) check(now time.Time) (ok bool, retryAfter time.Duration) {
	return b.spend(now, false)
}

func (b *budget) spend(now time.Time, commit bool) (ok bool, retryAfter time.Duration) {
	if b == nil {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	tat := b.tat
	if tat.Before(now) {
		tat = now
	}
	tat = tat.Add(b.interval)
	if excess := tat.Sub(now) - b.window; excess > 0 {
		return false, excess
	}
	if commit {
		b.tat = tat
	}
	return true, 0
}
