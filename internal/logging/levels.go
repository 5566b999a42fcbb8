// Package logging gives every component of the broker a log level that can
// be changed while it runs, the way Kafka's BROKER_LOGGER configs change
// log4j levels: `kafka-configs.sh --entity-type broker-loggers` and
// IncrementalAlterConfigs set, reset and describe them.
//
// A component is a logger carrying the attribute component=<name> (every
// component logger is made with Logger.With("component", ...)); it is named
// "samsa.<name>" here. A component without a level of its own follows the
// root logger, whose level --log-level sets. Levels are not persisted, as
// Kafka does not persist logger levels either.
package logging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// RootLogger is the name of the logger every other one follows by default.
const RootLogger = "root"

// componentPrefix is prepended to a component's name to form its logger
// name, as Kafka's are prefixed with their package.
const componentPrefix = "samsa."

// LevelTrace is below slog's Debug, for log4j's TRACE.
const LevelTrace = slog.Level(-8)

var (
	// ErrUnknownLogger means no logger has the name.
	ErrUnknownLogger = errors.New("unknown logger")
	// ErrInvalidLevel means a level is not one of log4j's.
	ErrInvalidLevel = errors.New("invalid log level")
	// ErrResetRoot means the root logger's level was asked to be removed.
	ErrResetRoot = errors.New("the root logger's level cannot be removed")
)

// levelNames are log4j's level names, most verbose first.
var levelNames = []struct {
	name  string
	level slog.Level
}{
	{"TRACE", LevelTrace}, {"DEBUG", slog.LevelDebug}, {"INFO", slog.LevelInfo},
	{"WARN", slog.LevelWarn}, {"ERROR", slog.LevelError}, {"FATAL", slog.LevelError + 4},
}

// ParseLevel parses a log4j level name (case-insensitive); slog's names
// (debug, info, warn, error) are among them.
func ParseLevel(s string) (slog.Level, error) {
	for _, l := range levelNames {
		if strings.EqualFold(s, l.name) {
			return l.level, nil
		}
	}
	return 0, fmt.Errorf("%w %q: valid levels are DEBUG,ERROR,FATAL,INFO,TRACE,WARN", ErrInvalidLevel, s)
}

// LevelName is the log4j name of a level.
func LevelName(level slog.Level) string {
	name := "TRACE"
	for _, l := range levelNames {
		if level >= l.level {
			name = l.name
		}
	}
	return name
}

// component is one component's level: its own once set, else the root's.
// It is read on every log call, so it is one atomic word: unset, or the
// level.
type component struct {
	level atomic.Int64
}

// unset marks a component that follows the root.
const unset = math.MinInt64

func newComponent() *component {
	c := &component{}
	c.level.Store(unset)
	return c
}

// own returns the component's own level, if set.
func (c *component) own() (slog.Level, bool) {
	v := c.level.Load()
	return slog.Level(v), v != unset
}

// Levels holds the root level and every component's. It is safe for
// concurrent use.
type Levels struct {
	root slog.LevelVar

	mu         sync.Mutex
	components map[string]*component
}

// NewLevels returns Levels with the root at level and no component level
// set.
func NewLevels(root slog.Level) *Levels {
	l := &Levels{components: map[string]*component{}}
	l.root.Set(root)
	return l
}

// Handler wraps inner so that a record is handled when its logger's level
// lets it through. inner's own level should not filter (make it
// LevelTrace or lower).
func (l *Levels) Handler(inner slog.Handler) slog.Handler {
	return &handler{inner: inner, levels: l}
}

// component returns the named component's level, creating it.
func (l *Levels) component(name string) *component {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.components[name]
	if c == nil {
		c = newComponent()
		l.components[name] = c
	}
	return c
}

// enabled reports whether a record at level passes c (nil: the root).
func (l *Levels) enabled(c *component, level slog.Level) bool {
	if c != nil {
		if own, set := c.own(); set {
			return level >= own
		}
	}
	return level >= l.root.Level()
}

// Logger is one logger's name and effective level (a log4j name).
type Logger struct {
	Name  string
	Level string
}

// Loggers lists the root logger and every component's, by name.
func (l *Levels) Loggers() []Logger {
	l.mu.Lock()
	names := make([]string, 0, len(l.components))
	for name := range l.components {
		names = append(names, name)
	}
	l.mu.Unlock()
	slices.Sort(names)
	out := []Logger{{Name: RootLogger, Level: LevelName(l.root.Level())}}
	for _, name := range names {
		out = append(out, Logger{Name: componentPrefix + name, Level: LevelName(l.effective(l.component(name)))})
	}
	return out
}

func (l *Levels) effective(c *component) slog.Level {
	if own, set := c.own(); set {
		return own
	}
	return l.root.Level()
}

// lookup finds a component by logger name; ok with nil is the root.
func (l *Levels) lookup(logger string) (*component, error) {
	if logger == RootLogger {
		return nil, nil
	}
	name, found := strings.CutPrefix(logger, componentPrefix)
	l.mu.Lock()
	c := l.components[name]
	l.mu.Unlock()
	if !found || c == nil {
		return nil, fmt.Errorf("%w: logger %s does not exist", ErrUnknownLogger, logger)
	}
	return c, nil
}

// Check reports whether SetLevel(logger, level) would succeed, without
// changing anything.
func (l *Levels) Check(logger, level string) error {
	if _, err := l.lookup(logger); err != nil {
		return err
	}
	_, err := ParseLevel(level)
	return err
}

// SetLevel sets a logger's level.
func (l *Levels) SetLevel(logger, level string) error {
	c, err := l.lookup(logger)
	if err != nil {
		return err
	}
	lv, err := ParseLevel(level)
	if err != nil {
		return err
	}
	if c == nil {
		l.root.Set(lv)
		return nil
	}
	c.level.Store(int64(lv))
	return nil
}

// CheckReset reports whether ResetLevel(logger) would succeed.
func (l *Levels) CheckReset(logger string) error {
	c, err := l.lookup(logger)
	if err == nil && c == nil {
		return ErrResetRoot
	}
	return err
}

// ResetLevel makes a component follow the root logger again.
func (l *Levels) ResetLevel(logger string) error {
	if err := l.CheckReset(logger); err != nil {
		return err
	}
	c, _ := l.lookup(logger)
	c.level.Store(unset)
	return nil
}

// handler is the slog.Handler of Levels.Handler: comp is the component its
// logger belongs to, nil before a component attribute was added.
type handler struct {
	inner  slog.Handler
	levels *Levels
	comp   *component
}

func (h *handler) Enabled(_ context.Context, level slog.Level) bool {
	return h.levels.enabled(h.comp, level)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	return h.inner.Handle(ctx, r)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	next := &handler{inner: h.inner.WithAttrs(attrs), levels: h.levels, comp: h.comp}
	for _, a := range attrs {
		if a.Key == "component" && a.Value.Kind() == slog.KindString {
			next.comp = h.levels.component(a.Value.String())
		}
	}
	return next
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{inner: h.inner.WithGroup(name), levels: h.levels, comp: h.comp}
}
