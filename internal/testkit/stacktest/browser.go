package stacktest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium, which scripts/stack installs.
const ChromiumPath = "/usr/bin/chromium"

// Browser starts headless Chromium for the test and returns a browser
// context; tabs are opened with chromedp.NewContext on it. The flags keep
// Chromium off the network beyond the pages the test loads, and it runs as
// root without a sandbox, as in CI.
func Browser(ctx context.Context, t testing.TB) context.Context {
	t.Helper()
	if _, err := exec.LookPath(ChromiumPath); err != nil {
		t.Fatalf("headless Chromium is missing at %s: run scripts/stack up, which installs it (apt-get install chromium)", ChromiumPath)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(ChromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	return browser
}

// ConsoleErrors collects, until the tab's context ends, the errors the
// page reports: console.error, uncaught exceptions and browser log errors
// (a failed request among them). wait ends the collection and returns them.
func ConsoleErrors(tab context.Context) (wait func() []string) {
	messages := chromedp.Console(tab)
	var got []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				got = append(got, m.String()+" ("+m.URL+")")
			}
		}
	}()
	return func() []string {
		<-done
		return got
	}
}

// ArtifactsDir is where a test keeps what a reader may want to look at
// afterwards (screenshots): TAGPULSE_ARTIFACTS_DIR, or a temporary folder
// that outlives the test.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("TAGPULSE_ARTIFACTS_DIR")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "tagpulse-artifacts-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Viewport is a screen a page is tested on.
type Viewport struct {
	Name          string // "laptop", "phone": names screenshots and subtests
	Width, Height int64  // CSS pixels
	Mobile        bool   // a touch screen at twice the pixel density
}

// Viewports are the screens every page is tested on: a laptop and a
// narrow phone.
var Viewports = []Viewport{
	{Name: "laptop", Width: 1366, Height: 900},
	{Name: "phone", Width: 390, Height: 844, Mobile: true},
}

// Emulate sizes the tab to the viewport.
func (v Viewport) Emulate() chromedp.Action[chromedp.Void] {
	if v.Mobile {
		return chromedp.EmulateViewport(v.Width, v.Height, chromedp.EmulateScale(2), chromedp.EmulateMobile)
	}
	return chromedp.EmulateViewport(v.Width, v.Height)
}
