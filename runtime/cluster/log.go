package cluster

import (
	"bytes"
	"context"
	"log"
	"log/slog"
)

// newSerfLogger sends Serf's and memberlist's "[LEVEL] text" lines to slog.
func newSerfLogger(l *slog.Logger) *log.Logger {
	return log.New(serfWriter{l.With("from", "serf")}, "", 0)
}

type serfWriter struct{ log *slog.Logger }

func (w serfWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := slog.LevelInfo
	for tag, l := range map[string]slog.Level{"[DEBUG]": slog.LevelDebug, "[INFO]": slog.LevelInfo, "[WARN]": slog.LevelWarn, "[ERR]": slog.LevelError} {
		if bytes.HasPrefix(line, []byte(tag)) {
			level, line = l, bytes.TrimSpace(line[len(tag):])
			break
		}
	}
	w.log.Log(context.Background(), level, string(line))
	return len(p), nil
}
