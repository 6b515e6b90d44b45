package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The report in a real browser: headless Chromium, driven over the
// DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages
// separated by NUL bytes on file descriptors 3 and 4), loads the
// report.html of a run and of a sweep, and the test fails on a console
// error, an exception, a log entry of level error (a resource that failed
// to load), a broken image or an empty figure. It keeps a full-page
// screenshot of each as a CI artefact, in the directory named by
// $MATTERSIM_ARTEFACTS (else the test's temporary directory), and logs
// its path. Without Chromium the test skips, except under CI=true, where
// it fails (scripts/setup.sh installs Debian's chromium as root).

// chromiumPath returns the browser to drive, or "".
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// cdp is a DevTools protocol client over Chromium's pipe.
type cdp struct {
	t      *testing.T
	w      io.Writer
	r      *bufio.Reader
	id     int
	sess   string
	events []cdpMessage
}

type cdpMessage struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
	SessionID string `json:"sessionId"`
}

func (c *cdp) read() cdpMessage {
	c.t.Helper()
	b, err := c.r.ReadBytes(0)
	require.NoError(c.t, err, "reading the DevTools pipe")
	var m cdpMessage
	require.NoError(c.t, json.Unmarshal(b[:len(b)-1], &m))
	return m
}

// call sends a command (on the attached page once there is one) and
// returns its result; events that arrive meanwhile are kept.
func (c *cdp) call(method string, params any, result any) {
	c.t.Helper()
	c.id++
	msg := map[string]any{"id": c.id, "method": method, "params": params}
	if c.sess != "" && !strings.HasPrefix(method, "Target.") && !strings.HasPrefix(method, "Browser.") {
		msg["sessionId"] = c.sess
	}
	b, err := json.Marshal(msg)
	require.NoError(c.t, err)
	_, err = c.w.Write(append(b, 0))
	require.NoError(c.t, err)
	for {
		m := c.read()
		if m.ID != c.id {
			if m.Method != "" {
				c.events = append(c.events, m)
			}
			continue
		}
		require.Nil(c.t, m.Error, "%s: %+v", method, m.Error)
		if result != nil {
			require.NoError(c.t, json.Unmarshal(m.Result, result), method)
		}
		return
	}
}

// waitEvent reads until event method arrives on the page.
func (c *cdp) waitEvent(method string) {
	c.t.Helper()
	for _, e := range c.events {
		if e.Method == method {
			return
		}
	}
	for {
		m := c.read()
		if m.Method != "" {
			c.events = append(c.events, m)
		}
		if m.Method == method {
			return
		}
	}
}

// pageProblems lists what went wrong on the page: console errors,
// exceptions, error log entries (failed loads), broken images, empty SVG
// figures. It also returns the number of figures.
func (c *cdp) pageProblems() ([]string, int) {
	c.t.Helper()
	var problems []string
	for _, e := range c.events {
		switch e.Method {
		case "Runtime.consoleAPICalled":
			var p struct {
				Type string `json:"type"`
				Args []struct {
					Value any `json:"value"`
				} `json:"args"`
			}
			require.NoError(c.t, json.Unmarshal(e.Params, &p))
			if p.Type == "error" || p.Type == "assert" {
				problems = append(problems, fmt.Sprintf("console %s: %v", p.Type, p.Args))
			}
		case "Runtime.exceptionThrown":
			problems = append(problems, "exception: "+string(e.Params))
		case "Log.entryAdded":
			var p struct {
				Entry struct {
					Level, Text, URL string
				} `json:"entry"`
			}
			require.NoError(c.t, json.Unmarshal(e.Params, &p))
			if p.Entry.Level == "error" {
				problems = append(problems, fmt.Sprintf("log error: %s %s", p.Entry.Text, p.Entry.URL))
			}
		}
	}
	var ev struct {
		Result struct {
			Value string `json:"value"`
		} `json:"result"`
	}
	c.call("Runtime.evaluate", map[string]any{"returnByValue": true, "expression": `JSON.stringify({
		broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),
		empty: [...document.querySelectorAll("figure svg")].filter(s => { const r = s.getBoundingClientRect(); return r.width < 100 || r.height < 50 }).length,
		figures: document.querySelectorAll("figure svg").length })`}, &ev)
	var got struct {
		Broken  []string `json:"broken"`
		Empty   int      `json:"empty"`
		Figures int      `json:"figures"`
	}
	require.NoError(c.t, json.Unmarshal([]byte(ev.Result.Value), &got), ev.Result.Value)
	for _, b := range got.Broken {
		problems = append(problems, "broken image: "+b)
	}
	if got.Empty > 0 {
		problems = append(problems, fmt.Sprintf("%d figures drawn empty", got.Empty))
	}
	return problems, got.Figures
}

// open navigates the page to file path and waits for its load event.
func (c *cdp) open(path string) {
	c.t.Helper()
	c.events = nil
	abs, err := filepath.Abs(path)
	require.NoError(c.t, err)
	c.call("Page.navigate", map[string]any{"url": (&url.URL{Scheme: "file", Path: abs}).String()}, nil)
	c.waitEvent("Page.loadEventFired")
}

// startChromium starts headless Chromium with a page attached.
func startChromium(t *testing.T, bin string) *cdp {
	t.Helper()
	toChrome, ourEnd, err := os.Pipe() // Chromium reads fd 3
	require.NoError(t, err)
	fromChrome, chromeEnd, err := os.Pipe() // and writes fd 4
	require.NoError(t, err)
	cmd := exec.Command(bin, "--headless", "--disable-gpu", "--no-sandbox", "--remote-debugging-pipe",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
		"--user-data-dir="+t.TempDir(), "--window-size=1280,900", "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, chromeEnd}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	toChrome.Close()
	chromeEnd.Close()
	timer := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	t.Cleanup(func() {
		timer.Stop()
		ourEnd.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		fromChrome.Close()
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", stderr.String())
		}
	})
	c := &cdp{t: t, w: ourEnd, r: bufio.NewReader(fromChrome)}
	var target struct {
		TargetID string `json:"targetId"`
	}
	c.call("Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	c.call("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	c.sess = att.SessionID
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable"} {
		c.call(m, map[string]any{}, nil)
	}
	c.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}, nil)
	return c
}

func TestReportInBrowser(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not found: CI must check report.html in a browser (scripts/setup.sh installs Debian's chromium as root)")
		}
		t.Skip("chromium not found: skipping the browser check of report.html (apt-get install chromium; scripts/setup.sh does it as root)")
	}
	out := filepath.Join(t.TempDir(), "run")
	code, _, stderr := runCLI(t, "run", "--set", "devices=9", "--duration", "10s", "--quiet", "--out", out)
	require.Equal(t, 0, code, stderr)

	sweepOut := filepath.Join(t.TempDir(), "sweep")
	code, _, stderr = runCLI(t, "sweep", "mrp-loss", "--ci", "--sweep", "loss=5%,30%", "--reps", "1", "--quiet", "--out", sweepOut)
	require.Equal(t, 0, code, stderr)

	c := startChromium(t, bin)
	dir := os.Getenv("MATTERSIM_ARTEFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, pg := range []struct{ out, shot string }{{out, "report-screenshot.png"}, {sweepOut, "sweep-report-screenshot.png"}} {
		c.open(filepath.Join(pg.out, "report.html"))
		problems, figures := c.pageProblems()
		require.Empty(t, problems, "%s in Chromium", filepath.Join(pg.out, "report.html"))
		entries, err := os.ReadDir(filepath.Join(pg.out, "plots"))
		require.NoError(t, err)
		require.NotZero(t, figures)
		require.Equal(t, len(entries)/2, figures, "every figure of %s/plots/ is on the page", pg.out)

		var shot struct {
			Data string `json:"data"`
		}
		c.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &shot)
		png, err := base64.StdEncoding.DecodeString(shot.Data)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(png), "\x89PNG"), "a PNG screenshot")
		path := filepath.Join(dir, pg.shot)
		require.NoError(t, os.WriteFile(path, png, 0o644))
		t.Logf("screenshot of %s: %s (set MATTERSIM_ARTEFACTS to keep it)", filepath.Join(pg.out, "report.html"), path)
	}

	// The check itself catches what it looks for: a page with a missing
	// image and a script error fails it.
	bad := filepath.Join(t.TempDir(), "bad.html")
	require.NoError(t, os.WriteFile(bad, []byte(`<!DOCTYPE html><html><body><img src="missing.png"><script>console.error("boom")</script></body></html>`), 0o644))
	c.open(bad)
	problems, _ := c.pageProblems()
	joined := strings.Join(problems, "\n")
	require.Contains(t, joined, "broken image")
	require.Contains(t, joined, "console error")
	require.Contains(t, joined, "log error", "the failed load is logged")
}
