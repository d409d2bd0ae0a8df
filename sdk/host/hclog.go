package host

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// hcLogAdapter routes go-plugin's hclog output (and so the plugin's own
// stderr log lines) into a log/slog logger.
type hcLogAdapter struct {
	l    *slog.Logger
	name string
	args []any
}

func newHCLogAdapter(l *slog.Logger) hclog.Logger { return &hcLogAdapter{l: l} }

func (a *hcLogAdapter) Log(level hclog.Level, msg string, args ...any) {
	var sl slog.Level
	switch {
	case level >= hclog.Error:
		sl = slog.LevelError
	case level == hclog.Warn:
		sl = slog.LevelWarn
	case level == hclog.Info:
		sl = slog.LevelInfo
	default:
		sl = slog.LevelDebug
	}
	all := append(append([]any{}, a.args...), args...)
	a.l.Log(context.Background(), sl, msg, all...)
}

func (a *hcLogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hcLogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hcLogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hcLogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hcLogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }
func (a *hcLogAdapter) IsTrace() bool                 { return false }
func (a *hcLogAdapter) IsDebug() bool                 { return a.l.Enabled(context.Background(), slog.LevelDebug) }
func (a *hcLogAdapter) IsInfo() bool                  { return a.l.Enabled(context.Background(), slog.LevelInfo) }
func (a *hcLogAdapter) IsWarn() bool                  { return a.l.Enabled(context.Background(), slog.LevelWarn) }
func (a *hcLogAdapter) IsError() bool                 { return a.l.Enabled(context.Background(), slog.LevelError) }
func (a *hcLogAdapter) ImpliedArgs() []any            { return a.args }
func (a *hcLogAdapter) With(args ...any) hclog.Logger {
	return &hcLogAdapter{l: a.l, name: a.name, args: append(append([]any{}, a.args...), args...)}
}
func (a *hcLogAdapter) Name() string { return a.name }
func (a *hcLogAdapter) Named(name string) hclog.Logger {
	n := name
	if a.name != "" {
		n = a.name + "." + name
	}
	return &hcLogAdapter{l: a.l, name: n, args: a.args}
}
func (a *hcLogAdapter) ResetNamed(name string) hclog.Logger {
	return &hcLogAdapter{l: a.l, name: name, args: a.args}
}
func (a *hcLogAdapter) SetLevel(hclog.Level)  {}
func (a *hcLogAdapter) GetLevel() hclog.Level { return hclog.Debug }
func (a *hcLogAdapter) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(a.l.Handler(), slog.LevelInfo)
}
func (a *hcLogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return a.StandardLogger(nil).Writer()
}

// lineLogger logs each line written to it: what a plugin writes to its
// stdout or stderr during a call, which go-plugin carries over its stdio
// stream (its Serve swaps the process's os.Stdout and os.Stderr for pipes
// into that stream). Without it those lines were dropped.
type lineLogger struct {
	l     *slog.Logger
	level slog.Level
	msg   string

	mu  sync.Mutex
	buf []byte
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	// A line that never ends is logged in pieces rather than kept forever.
	if len(w.buf) >= maxLine {
		w.emit(w.buf)
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

const maxLine = 64 << 10

func (w *lineLogger) emit(line []byte) {
	if s := strings.TrimRight(string(line), "\r"); strings.TrimSpace(s) != "" {
		w.l.Log(context.Background(), w.level, w.msg, "line", s)
	}
}
