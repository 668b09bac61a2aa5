package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pixelpost/pixelpost/internal/testenv"
)

// browser starts headless Chromium for the test and returns its context.
func browser(t *testing.T) context.Context {
	t.Helper()
	exec := testenv.Chromium(t)
	// Not t.TempDir: Chromium may still write there while it exits, and
	// the test would fail on a directory it cannot empty.
	profile, err := os.MkdirTemp("", "pixelpost-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exec),
		chromedp.NoSandbox,
		chromedp.UserDataDir(profile),
		// This machine has no network: Chromium's own calls home would fail.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx) // closes the browser and waits for it
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(profile)
	})
	// The first Run starts the browser, and cancelling its context would
	// close it: bound the start with a timer instead of a deadline.
	watchdog := time.AfterFunc(browserStep, cancelCtx)
	defer watchdog.Stop()
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("cannot start chromium within %v: %v", browserStep, err)
	}
	return ctx
}

// browserStep bounds one step of a browser test (start Chromium, sign in,
// fill a form and see the result). Generous: on a loaded 2-core CI machine
// a page load has taken over 20 s.
const browserStep = 2 * time.Minute

// runStep runs one named step of a browser test within browserStep and
// fails the test saying which step did not finish.
func runStep(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	step, cancel := context.WithTimeout(ctx, browserStep)
	defer cancel()
	if err := chromedp.Run(step, actions...); err != nil {
		t.Fatalf("browser step %q did not finish within %v: %v", what, browserStep, err)
	}
}

// serve makes the harness's server listen on loopback and returns its URL.
func (h *harness) serve() string {
	h.t.Helper()
	ln, err := listenLoopback()
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.srv.Serve(ctx, ln) }()
	h.t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}

// hasText waits (up to the step's deadline) until the element of sel
// holds text; its error names what it waited for.
func hasText(sel, text string) chromedp.Action {
	s, _ := json.Marshal(sel)
	x, _ := json.Marshal(text)
	poll := chromedp.Poll(fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.textContent.includes(%s); })()`, s, x), nil,
		chromedp.WithPollingTimeout(0)) // the step's deadline bounds it
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if err := poll.Do(ctx); err != nil {
			return fmt.Errorf("waiting for %s to contain %q: %w", sel, text, err)
		}
		return nil
	})
}

func httpGet(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// A webinar host signs in, adds a webinar, sees its sales come in, gets
// the thank-you page's tracking code from the dashboard (and that code
// counts a sale), imports registrants, finds customers in the attendee
// list, marks one as converted and erases another, sees why a hit was
// refused, sets up a Meta dataset and a CRM source, switches a webhook off
// and deletes it, exports an audience, and signs in with an account key.
func TestDashboardInABrowser(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets") // the webhook on loopback
	base := h.serve()
	ctx := browser(t)
	shots := newScreenshots(t)
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		runStep(t, ctx, what, actions...)
	}

	resp, err := http.Get(base + "/dashboard/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("dashboard CSP %q", csp)
	}

	run("a wrong token is refused",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/dashboard"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#token", "not-the-token"),
		chromedp.SendKeys("#account", h.acct),
		chromedp.Click(`#login-form button[type="submit"]`),
		hasText("#login-error", "neither the server's admin token nor a key of account"),
	)
	run("sign in",
		chromedp.SetValue("#token", testToken),
		chromedp.Click(`#login-form button[type="submit"]`),
		chromedp.WaitVisible("#tabs"),
		hasText("#who", "Account "+h.acct),
		openTab("webinars"),
	)
	run("add a webinar, with a name that is not HTML",
		chromedp.SendKeys("#webinar-id", "w1"),
		chromedp.SendKeys("#webinar-name", `Launch <img src=x id=injected>`),
		chromedp.SendKeys("#webinar-tags", "course_sales"),
		chromedp.Click(`#webinar-form button[type="submit"]`),
		hasText(`#webinars tbody tr[data-webinar="w1"]`, "Launch <img src=x id=injected>"),
	)
	var injected bool
	run("no markup from data", chromedp.Evaluate(`!!document.getElementById("injected")`, &injected))
	if injected {
		t.Error("a webinar name was rendered as HTML")
	}

	// Sales come in from the pixels.
	httpGet(t, base+"/v1/attendee/pixel/"+h.acct+"?webinarId=w1&email=ann@example.com")
	httpGet(t, base+"/v1/conversion/pixel/"+h.acct+"?webinarId=w1&email=ann@example.com&amount=49.99&orderId=A1")
	h.settle()
	run("the webinar's totals",
		openTab("webinars"),
		hasText(`#webinars tbody tr[data-webinar="w1"]`, "49.99 USD"),
		hasText(`#webinars tbody tr[data-webinar="w1"]`, "100 %"),
	)

	// The tracking code for a Thinkific thank-you page.
	var img string
	run("tracking code",
		chromedp.Click(`#webinars tbody tr[data-webinar="w1"] button[aria-label="Open webinar w1"]`),
		chromedp.WaitVisible("#webinar-detail"),
		hasText("#series tbody", "49.99 USD"), // days on the embedded default too
		chromedp.SetValue("#checkout", "thinkific"),
		chromedp.Evaluate(`document.getElementById("checkout").dispatchEvent(new Event("change"))`, nil),
		chromedp.Value("#img-tag", &img),
		shots.take("webinar"),
	)
	want := base + "/v1/conversion/pixel/" + h.acct + "?webinarId=w1&email={{email}}&orderId={{order_number}}&amount={{total_price}}"
	if !strings.Contains(img, want) {
		t.Fatalf("image tag %q, want it to hold %q", img, want)
	}
	// The checkout fills the placeholders in: the tag's URL counts a sale.
	src := img[strings.Index(img, `src="`)+5:]
	src = src[:strings.Index(src, `"`)]
	src = strings.NewReplacer("{{email}}", "bob%40example.com", "{{order_number}}", "B7", "{{total_price}}", "20.00", "{{currency}}", "USD").Replace(src)
	httpGet(t, src)
	h.settle()
	if st := h.stats("w1"); st["sales"] != 2.0 {
		t.Errorf("sales after the generated tag fired: %v", st)
	}

	// Registrants from a spreadsheet.
	csv := filepath.Join(t.TempDir(), "registrants.csv")
	if err := os.WriteFile(csv, []byte("Email;Prénom;Nom;Téléphone;Pays;Code postal\ncy@example.com;Cy;Lee;06 12 34 56 78;FR;75011\n"+
		"di@example.com;Di;;;;\nnot-an-email;X;;;;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run("import registrants",
		chromedp.SetUploadFiles("#import-file", []string{csv}),
		chromedp.Click(`#import-form button[type="submit"]`),
		hasText("#import-result", "2 imported, 0 already registered, 1 refused (row 3: line 4"),
		hasText(`#webinars tbody tr[data-webinar="w1"] td:nth-child(4)`, "3"), // registrants: ann, cy, di
	)

	// The attendee list: search by email prefix, sort by lifetime value,
	// open one, mark them as converted by hand.
	run("attendee list",
		openTab("attendees"),
		hasText(`#attendee-list tbody tr:first-child`, "ann@example.com"), // 49.99, then bob's 20.00
		hasText(`#attendee-list tbody tr:nth-child(2)`, "bob@example.com"),
		chromedp.SetValue("#attendee-prefix", "BO"),
		chromedp.Click(`#attendee-search button[type="submit"]`),
		loaded("attendees"),
		hasText(`#attendee-list tbody`, "bob@example.com"),
		hasText(`#attendee-list tbody tr:first-child td:nth-child(3)`, "20.00 USD"),
		chromedp.Click(`#attendee-list button[aria-label="Open bob@example.com"]`),
		hasText("#att-email", "bob@example.com"),
		hasText("#att-order-list", "B7"),
		choose("#convert-webinar", "w1"),
		chromedp.SetValue("#convert-amount", "15.00"),
		chromedp.SetValue("#convert-order", "M1"),
		chromedp.Click(`#convert-form button[type="submit"]`),
		hasText("#convert-result", "Marked as converted (accepted, 15.00 USD)."),
		hasText("#att-ltv", "35.00 USD"),
		hasText("#att-order-list", "manual"),
		shots.take("attendee"),
	)

	// A customer asks to be forgotten.
	run("look up and erase",
		chromedp.SetValue("#attendee-prefix", "ann@"),
		chromedp.Click(`#attendee-search button[type="submit"]`),
		loaded("attendees"),
		chromedp.Click(`#attendee-list button[aria-label="Open ann@example.com"]`),
		hasText("#att-ltv", "49.99 USD"),
		hasText("#att-id", "e_"),
		hasText("#att-order-list", "A1"),
		chromedp.Click("#erase"),
		hasText("#erase", "Click again"),
		chromedp.Click("#erase"),
		hasText("#attendee-result", "Erased ann@example.com: 1 orders, 1 registrations"),
	)
	h.api("GET", "/accounts/"+h.acct+"/attendees/ann@example.com", nil, 404)

	// Why did that conversion not count?
	httpGet(t, base+"/v1/conversion/pixel/"+h.acct+"?webinarId=w1&amount=12abc")
	// The refused hit is listed once it is decided, a moment after the
	// GIF: the tab reads the list once, so wait for it first.
	waitFor(t, "the refused hit in /hits/rejected", func() bool {
		req, _ := http.NewRequest("GET", base+"/api/v1/accounts/"+h.acct+"/hits/rejected", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), "invalid_amount")
	})
	run("refused hits",
		openTab("activity"),
		hasText("#rejections", "invalid_amount"),
		hasText("#hit-statuses", "invalid_amount"),
		openTab("reports"),
		chromedp.Click(`#report-form button[type="submit"]`),
		loaded("reports"),
		hasText("#report tbody", "No clicks in that period."), // no ClickHouse needed
	)

	// A Meta dataset through its form, with its diagnostics checklist.
	run("meta dataset",
		openTab("leads"),
		chromedp.SetValue("#dataset-id", "123456789012345"),
		chromedp.SetValue("#dataset-token", "EAAB-a-long-access-token"),
		chromedp.Click(`#dataset-form button[type="submit"]`),
		hasText("#dataset-result", "Saved dataset 123456789012345."),
		chromedp.Click(`#datasets button[aria-label="Diagnostics of dataset 123456789012345"]`),
		hasText("#diag-checklist", "0 days with data (7 needed)"),
		hasText("#dataset-events", "No event."),
		shots.take("meta-dataset"),
		chromedp.SetValue("#crm-id", "crm-"+h.acct),
		choose("#crm-preset", "hubspot"),
		choose("#crm-dataset", "123456789012345"),
		chromedp.Click(`#crm-form button[type="submit"]`),
		hasText("#crm-result", "/v1/crm/crm-"+h.acct+"/events"),
		hasText(`#crm-sources tr[data-id="crm-`+h.acct+`"]`, "hubspot"),
		// Switched off and on: the dataset keeps its events queued meanwhile.
		chromedp.Click(`#datasets button[aria-label="Disable dataset 123456789012345"]`),
		hasText(`#datasets tr[data-id="123456789012345"]`, "disabled (events queued)"),
		chromedp.Click(`#datasets button[aria-label="Enable dataset 123456789012345"]`),
		hasText(`#datasets tr[data-id="123456789012345"]`, "enabled"),
		chromedp.Click(`#crm-sources button[aria-label="Disable CRM source crm-`+h.acct+`"]`),
		hasText(`#crm-sources tr[data-id="crm-`+h.acct+`"]`, "disabled"),
	)

	// A webhook switched off and on, then deleted.
	run("webhook",
		chromedp.SetValue("#webhook-id", "crm"),
		chromedp.SetValue("#webhook-url", "http://127.0.0.1:9/hook"),
		chromedp.SetValue("#webhook-secret", "webhook-secret-0123456789"),
		chromedp.Click(`#webhook-form button[type="submit"]`),
		hasText(`#webhooks tr[data-id="crm"]`, "enabled"),
		chromedp.Click(`#webhooks button[aria-label="Disable webhook crm"]`),
		hasText(`#webhooks tr[data-id="crm"]`, "disabled"),
		chromedp.Click(`#webhooks button[aria-label="Delete webhook crm"]`),
		chromedp.Click(`#webhooks button[aria-label="Delete webhook crm"]`),
		hasText("#webhooks tbody", "None yet"),
	)

	// A Google Ads customer list: Cy is complete; Bob and Di have no phone.
	run("audience file",
		openTab("audiences"),
		hasText("#exports", "No export yet."),
		chromedp.Click(`#export-form button[type="submit"]`),
		hasText("#export-result", "1 of 3 people written; left out: 2 missing phone."),
		hasText("#exports tbody tr", "google"),
		chromedp.Click(`#exports tbody tr button.danger`), // Delete
		hasText("#exports", "No export yet."),
	)

	// An account key, made in Settings, signs in (read only).
	var key string
	run("account key",
		openTab("settings"),
		chromedp.SendKeys("#key-name", "client"),
		chromedp.Click(`#key-form button[type="submit"]`),
		hasText("#key-result", "shown once, copy it now): ppk_"),
		hasText("#api-keys", "client"),
		chromedp.Text("#key-result", &key),
	)
	key = key[strings.Index(key, "ppk_"):]
	run("sign in with the account key",
		chromedp.Click("#logout"),
		chromedp.WaitVisible("#login-form"),
		signIn(base, key, h.acct),
		hasText("#who", "(account key)"),
		openTab("settings"),
		hasText("#api-keys", "only the admin token manages keys"),
		chromedp.Click(`#account-form button[type="submit"]`),
		hasText("#account-result", "Only the admin token changes the account."),
	)
}

// With ClickHouse, a webinar's last 30 days: a bar per day and the
// figures.
func TestDashboardWebinarDays(t *testing.T) {
	ch := clickHouse(t)
	h := newHarnessWith(t, Deps{Ledger: embeddedLedger(t), ClickHouse: ch})
	base := h.serve()
	httpGet(t, base+"/v1/attendee/pixel/"+h.acct+"?webinarId=w1&email=ann@example.com")
	httpGet(t, base+"/v1/conversion/pixel/"+h.acct+"?webinarId=w1&email=ann@example.com&amount=49.99&orderId=A1")
	waitFor(t, "the rows in ClickHouse", func() bool { return len(rowsOf(t, ch, h.acct)) == 2 })
	ctx := browser(t)
	var bars int
	runStep(t, ctx, "sign in and open the webinar's days",
		chromedp.Navigate(base+"/dashboard/"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#token", testToken),
		chromedp.SendKeys("#account", h.acct),
		chromedp.Click(`#login-form button[type="submit"]`),
		chromedp.WaitVisible("#tabs"),
		openTab("webinars"),
		chromedp.Click(`#webinars tbody tr[data-webinar="w1"] button[aria-label="Open webinar w1"]`),
		hasText("#series tbody", "49.99 USD"),
		// The chart has a day for each of the 30 (the server's clock, the
		// account's time zone): one has sales.
		chromedp.Evaluate(`Array.from(document.querySelectorAll("#series-chart rect.bar.s1")).filter(r => +r.getAttribute("height") > 0).length`, &bars),
	)
	if bars != 1 {
		t.Errorf("%d sales bars, want 1 (one day)", bars)
	}
}
