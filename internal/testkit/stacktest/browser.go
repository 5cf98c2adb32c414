package stacktest

import (
	"context"
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
