package cli

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// app is one invocation's world: its streams, environment, clock and global flags. Commands
// reach it through their closures instead of globals so that many Run calls can share a process.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	processEnv     bool // getenv is the process's environment (not Run's map)
	now            func() time.Time
	// sleep waits d or until ctx is done; tests replace it so polling takes no time.
	sleep func(ctx context.Context, d time.Duration) error

	output     string
	query      string
	onlyErrors bool
	debug      bool
	verbose    bool

	// correlationID is sent with every request of this invocation, so one id finds all of
	// them in the server's log.
	correlationID string
}

func newApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *app {
	return &app{
		stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv,
		now:           time.Now,
		sleep:         sleepCtx,
		correlationID: newUUID(),
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// NewRootCommand returns the "latch" command with every client command beneath it, bound to
// the process's standard streams and environment. Callers may add commands (serve, agent)
// before passing it to Execute.
func NewRootCommand() *cobra.Command {
	a := newApp(os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	a.processEnv = true
	return newRoot(a)
}

// Execute runs root with the process's arguments and returns the exit status to pass to
// os.Exit: 0 success, 1 failure, 2 usage error, 3 not found. Errors are already printed.
func Execute(root *cobra.Command) int {
	root.SetArgs(normaliseArgs(root, os.Args[1:]))
	return execute(context.Background(), root)
}

// Run executes one latch command in-process, as if "latch args..." had been typed, reading
// stdin and writing stdout and stderr, and returns its exit status. env replaces the process
// environment entirely: LATCH_CONFIG_DIR (or HOME) chooses the state directory, LATCH_OUTPUT
// the default output format, LATCH_BROWSER the browser command (its words, then the URL).
// It never touches os.Args, os.Stdout or the process environment, so tests may call it
// concurrently with different configuration directories. Cancelling ctx stops a login that
// waits for the browser or for a device code.
//
// For "login --use-device-code" the server's message ("… enter the code XXXX to
// authenticate.") is written to stderr before polling starts, so a test can pass a pipe as
// stderr, read the code, and approve it while Run waits. For the browser flow, see
// WithBrowser.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env map[string]string) int {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	getenv := func(k string) string { return env[k] }
	return runApp(ctx, newApp(stdin, stdout, stderr, getenv), args)
}

// runApp runs args with a prepared app; tests use it to set the clock and the sleeper.
func runApp(ctx context.Context, a *app, args []string) int {
	root := newRoot(a)
	root.SetArgs(normaliseArgs(root, args))
	return execute(ctx, root)
}

// BrowserFunc opens authURL for a person to sign in. It returns once the browser has been
// started, not once sign-in is done.
type BrowserFunc func(ctx context.Context, authURL string) error

type browserKey struct{}

// WithBrowser returns a context under which "latch login" opens the sign-in page with fn
// instead of a browser program, so a test can sign in with a headless browser or plain HTTP.
func WithBrowser(ctx context.Context, fn BrowserFunc) context.Context {
	return context.WithValue(ctx, browserKey{}, fn)
}

// browser picks how to open the sign-in page: a hook in ctx, then $LATCH_BROWSER, then
// xdg-open. It returns nil when there is none, and the caller prints the URL instead.
func (a *app) browser(ctx context.Context) BrowserFunc {
	if fn, ok := ctx.Value(browserKey{}).(BrowserFunc); ok && fn != nil {
		return fn
	}
	if cmd := strings.Fields(a.getenv("LATCH_BROWSER")); len(cmd) > 0 {
		return commandBrowser(cmd)
	}
	if runtime.GOOS == "darwin" && a.processEnv {
		return commandBrowser([]string{"open"})
	}
	// Without a display, xdg-open would start a text browser in this terminal.
	if p, err := exec.LookPath("xdg-open"); err == nil && a.getenv("DISPLAY")+a.getenv("WAYLAND_DISPLAY") != "" {
		return commandBrowser([]string{p})
	}
	return nil
}

// commandBrowser starts argv with the URL appended and does not wait for it: browsers often
// stay open for the whole session.
func commandBrowser(argv []string) BrowserFunc {
	return func(ctx context.Context, authURL string) error {
		args := append(append([]string{}, argv[1:]...), authURL)
		c := exec.Command(argv[0], args...)
		if err := c.Start(); err != nil {
			return err
		}
		go c.Wait()
		return nil
	}
}

// configDir is where the profile and tokens live: $LATCH_CONFIG_DIR, else $HOME/.latch.
func (a *app) configDir() (string, error) {
	if d := a.getenv("LATCH_CONFIG_DIR"); d != "" {
		return d, nil
	}
	home := a.getenv("HOME")
	if home == "" && a.processEnv {
		home, _ = os.UserHomeDir()
	}
	if home == "" {
		// Run's environment has neither: never fall back to the real home directory there.
		return "", failf("cannot find the home directory; set LATCH_CONFIG_DIR")
	}
	return filepath.Join(home, ".latch"), nil
}

// warn prints a warning as az does, unless --only-show-errors was given.
func (a *app) warn(format string, args ...any) {
	if a.onlyErrors {
		return
	}
	io.WriteString(a.stderr, "WARNING: "+sprintf(format, args...)+"\n")
}

// debugf prints a debug line when --debug was given. Callers never pass secrets.
func (a *app) debugf(format string, args ...any) {
	if a.debug {
		io.WriteString(a.stderr, "DEBUG: "+sprintf(format, args...)+"\n")
	}
}
