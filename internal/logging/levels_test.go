package logging

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func TestComponentLevels(t *testing.T) {
	var out bytes.Buffer
	levels := NewLevels(slog.LevelInfo)
	root := slog.New(levels.Handler(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: LevelTrace})))
	conn := root.With("component", "conn")
	group := root.With("component", "group")
	logged := func(fn func()) bool {
		out.Reset()
		fn()
		return out.Len() > 0
	}

	if logged(func() { conn.Debug("x") }) || !logged(func() { conn.Info("x") }) {
		t.Fatal("a component without a level of its own does not follow the root (INFO)")
	}
	if err := levels.SetLevel("samsa.conn", "debug"); err != nil {
		t.Fatal(err)
	}
	if !logged(func() { conn.Debug("x") }) || logged(func() { group.Debug("x") }) || logged(func() { root.Debug("x") }) {
		t.Fatal("DEBUG on samsa.conn should let conn's debug records through and no one else's")
	}
	if err := levels.SetLevel(RootLogger, "ERROR"); err != nil {
		t.Fatal(err)
	}
	if logged(func() { group.Warn("x") }) || !logged(func() { conn.Warn("x") }) {
		t.Fatal("root at ERROR: group (inheriting) should drop WARN, conn (own DEBUG) keep it")
	}
	if err := levels.ResetLevel("samsa.conn"); err != nil {
		t.Fatal(err)
	}
	if logged(func() { conn.Warn("x") }) {
		t.Fatal("a reset component should follow the root (ERROR) again")
	}
	// A logger derived from a component logger stays in the component.
	if err := levels.SetLevel("samsa.conn", "TRACE"); err != nil {
		t.Fatal(err)
	}
	if !logged(func() { conn.With("remote", "1.2.3.4").WithGroup("g").Log(context.Background(), LevelTrace, "x") }) {
		t.Fatal("a logger derived from conn's lost its level")
	}

	want := []Logger{{"root", "ERROR"}, {"samsa.conn", "TRACE"}, {"samsa.group", "ERROR"}}
	if got := levels.Loggers(); !slices.Equal(got, want) {
		t.Fatalf("Loggers() = %v, want %v", got, want)
	}
}

func TestLevelErrors(t *testing.T) {
	levels := NewLevels(slog.LevelInfo)
	slog.New(levels.Handler(slog.DiscardHandler)).With("component", "txn")
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"unknown logger", levels.SetLevel("kafka.server.ReplicaManager", "DEBUG"), ErrUnknownLogger},
		{"component without prefix", levels.SetLevel("txn", "DEBUG"), ErrUnknownLogger},
		{"bad level", levels.SetLevel("samsa.txn", "VERBOSE"), ErrInvalidLevel},
		{"check bad level", levels.Check("samsa.txn", "null"), ErrInvalidLevel},
		{"reset root", levels.ResetLevel(RootLogger), ErrResetRoot},
		{"reset unknown", levels.CheckReset("nope"), ErrUnknownLogger},
		{"good", levels.Check("samsa.txn", "warn"), nil},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if got := levels.Loggers(); len(got) != 2 || got[1] != (Logger{"samsa.txn", "INFO"}) {
		t.Fatalf("failed changes altered levels: %v", got)
	}
}

func TestLevelNames(t *testing.T) {
	for _, name := range []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"} {
		l, err := ParseLevel(strings.ToLower(name))
		if err != nil || LevelName(l) != name {
			t.Errorf("%s: parsed %v (%v), named %s", name, l, err, LevelName(l))
		}
	}
}
