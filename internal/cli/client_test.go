package cli

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// runCLI runs the client commands with args and returns the exit code and
// what was written to stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	root := &cobra.Command{Use: "samsa"}
	AddCommands(root)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	code = Execute(root)
	return code, out.String(), errOut.String()
}

// cliAgainst returns a runner of client commands against the broker at
// addr that fails the test unless a command exits with want, and returns
// its output.
func cliAgainst(t *testing.T, addr string) func(want int, args ...string) string {
	return func(want int, args ...string) string {
		t.Helper()
		code, stdout, stderr := runCLI(t, "", append(args, "-b", addr)...)
		if code != want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", args, code, want, stdout, stderr)
		}
		return stdout + stderr
	}
}

func TestExecuteUsageErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown flag", []string{"topic", "list", "--nope"}, "unknown flag: --nope"},
		{"missing topic name", []string{"topic", "create"}, "expected one topic NAME"},
		{"delete without names", []string{"topic", "delete"}, "expected at least one topic NAME"},
		{"bad offset", []string{"consume", "t", "-o", "yesterday"}, `-o/--offset: "yesterday"`},
		{"bad format", []string{"consume", "t", "-f", "%q"}, "unknown field %q"},
		{"group with partition", []string{"consume", "t", "-g", "g", "-p", "0"}, "cannot be combined"},
		{"bad acks", []string{"produce", "t", "--acks", "2"}, "--acks must be all, 1 or 0"},
		{"bad header", []string{"produce", "t", "-H", "novalue"}, `-H/--header: "novalue" is not key=value`},
		{"bad compression", []string{"produce", "t", "-z", "brotli"}, "-z/--compression"},
		{"alter nothing", []string{"topic", "alter-config", "t"}, "nothing to alter"},
		{"empty bootstrap", []string{"cluster", "info", "-b", " , "}, "no broker address"},
		{"zero timeout", []string{"cluster", "info", "--timeout", "0s"}, "--timeout must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, exitUsage, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if !strings.HasPrefix(stderr, "samsa: ") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line starting with \"samsa: \"", stderr)
			}
			if !strings.Contains(stderr, tc.wantErr) {
				t.Errorf("stderr = %q, want it to mention %q", stderr, tc.wantErr)
			}
		})
	}
}

// TestUnreachableBrokerFailsFast checks the --timeout bound against
// addresses that are not brokers: a closed port and a listener that accepts
// connections but never answers.
func TestUnreachableBrokerFailsFast(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		var held []net.Conn // keep connections open and unanswered
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()

	commands := [][]string{
		{"cluster", "info"},
		{"topic", "list"},
		{"topic", "describe", "t"},
		{"consume", "t", "-e"},
		{"produce", "t"},
	}
	for _, addr := range []string{closedAddr, silent.Addr().String()} {
		for _, args := range commands {
			t.Run(addr+" "+strings.Join(args, " "), func(t *testing.T) {
				started := time.Now()
				code, _, stderr := runCLI(t, "line\n", append(args, "-b", addr, "--timeout", "300ms")...)
				if elapsed := time.Since(started); elapsed > 5*time.Second {
					t.Errorf("took %s, want a failure bounded by --timeout", elapsed)
				}
				if code != exitFailure {
					t.Errorf("exit code = %d, want %d", code, exitFailure)
				}
				if !strings.HasPrefix(stderr, "samsa: ") || strings.Count(stderr, "\n") != 1 {
					t.Errorf("stderr = %q, want one error line", stderr)
				}
			})
		}
	}
}

func TestBootstrapFromEnvironment(t *testing.T) {
	t.Setenv("SAMSA_BOOTSTRAP", "broker-a:9092,broker-b:9092")
	root := &cobra.Command{Use: "samsa"}
	AddCommands(root)
	flag := root.PersistentFlags().Lookup("bootstrap-server")
	if flag == nil || flag.DefValue != "broker-a:9092,broker-b:9092" {
		t.Fatalf("bootstrap-server default = %v, want the SAMSA_BOOTSTRAP value", flag)
	}
	if !root.SilenceUsage || !root.SilenceErrors {
		t.Error("AddCommands must silence cobra's own usage and error output")
	}
}

func TestSeeds(t *testing.T) {
	cfg := clientConfig{bootstrap: " a:1, ,b:2 ,"}
	got := cfg.seeds()
	if len(got) != 2 || got[0] != "a:1" || got[1] != "b:2" {
		t.Errorf("seeds = %q, want [a:1 b:2]", got)
	}
}

func TestOneLine(t *testing.T) {
	err := errors.Join(errors.New("topic \"a\": gone"), errors.New("topic \"b\": gone"))
	if got, want := oneLine(err.Error()), `topic "a": gone; topic "b": gone`; got != want {
		t.Errorf("oneLine = %q, want %q", got, want)
	}
}
