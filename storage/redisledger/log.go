package redisledger

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// LogTo sends go-redis's own messages (a failed dial, a pool it cannot
// fill: a burst of them while a server is down or failing over) to log as
// sampled warnings, instead of unstructured lines on stderr. go-redis
// has one logger for the whole process: the last call wins.
func LogTo(log zerolog.Logger) {
	redis.SetLogger(clientLog{log.Sample(&zerolog.BurstSampler{Burst: 5, Period: time.Second})})
}

type clientLog struct{ log zerolog.Logger }

func (l clientLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Warn().Str("component", "redis client").Msg(fmt.Sprintf(format, v...))
}
