package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Browser test helpers shared by the dashboard's tests.

// choose sets a <select> (or any field) and fires its change event, as a
// user picking an option does.
func choose(sel, value string) chromedp.Action {
	s, _ := json.Marshal(sel)
	return chromedp.Tasks{
		chromedp.SetValue(sel, value),
		chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%s).dispatchEvent(new Event("change"))`, s), nil),
	}
}

// typeIn replaces a field's value and fires its input event.
func typeIn(sel, value string) chromedp.Action {
	s, _ := json.Marshal(sel)
	return chromedp.Tasks{
		chromedp.SetValue(sel, value),
		chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%s).dispatchEvent(new Event("input"))`, s), nil),
	}
}

// openTab opens a dashboard page by its tab and waits until it loaded.
func openTab(view string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.Click(`#tabs button[data-view="` + view + `"]`),
		loaded(view),
	}
}

// loaded waits until a page has loaded what it asked for: it is
// aria-busy meanwhile (opened, its form sent, a drill-down).
func loaded(view string) chromedp.Action {
	return chromedp.WaitVisible("#view-" + view + ":not([aria-busy])")
}

// signIn signs in from the sign-in page.
func signIn(base, token, acct string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.Navigate(base + "/dashboard/"),
		chromedp.WaitVisible("#login-form"),
		chromedp.SetValue("#token", token),
		chromedp.SetValue("#account", acct),
		chromedp.Click(`#login-form button[type="submit"]`),
		chromedp.WaitVisible("#tabs"),
		hasText("#who", "Account "+acct),
	}
}

// unlabelledFields lists the form fields of the page (visible or not, made
// by the page's script or not) that have no label a screen reader reads.
const unlabelledFields = `Array.from(document.querySelectorAll("input, select, textarea"))
	.filter(e => e.type !== "hidden" && e.labels.length === 0 && !e.getAttribute("aria-label"))
	.map(e => e.id || e.outerHTML)`

// screenshots writes full-page PNGs of the dashboard's pages to
// $PIXELPOST_SCREENSHOTS (README "The dashboard"), when set.
type screenshots struct {
	t   *testing.T
	dir string
}

func newScreenshots(t *testing.T) screenshots {
	dir := os.Getenv("PIXELPOST_SCREENSHOTS")
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return screenshots{t, dir}
}

func (s screenshots) take(name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if s.dir == "" {
			return nil
		}
		var png []byte
		if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
			return fmt.Errorf("screenshot %s: %w", name, err)
		}
		return os.WriteFile(filepath.Join(s.dir, name+".png"), png, 0o644)
	})
}

// An affiliate marketer sets up an ExoClick campaign in the dashboard on
// the embedded default, without JSON: a source from the ExoClick template,
// a network, a campaign; follows the campaign link shown, fires the
// postback URL shown with the macros replaced, sees the conversion in the
// conversion log and the campaign report, drills down to the zone,
// downloads the CSV, and deletes the campaign, whose link then answers 404
// (issue 15, items 4 and 5).
func TestDashboardS2SInABrowser(t *testing.T) {
	h := newHarness(t, embeddedLedger(t), "--allow-private-targets")
	base := h.serve()
	ctx := browser(t)
	shots := newScreenshots(t)
	downloads := t.TempDir()
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		runStep(t, ctx, what, actions...)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	var tabsShown bool
	run("the sign-in page shows no tabs",
		chromedp.EmulateViewport(1280, 900),
		cdpbrowser.SetDownloadBehavior(cdpbrowser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(downloads),
		chromedp.Navigate(base+"/dashboard/"),
		chromedp.WaitVisible("#login-form"),
		hasText(`label:has(#token)`, "Admin token or account key"),
		chromedp.Evaluate(`getComputedStyle(document.getElementById("tabs")).display !== "none"`, &tabsShown),
		shots.take("sign-in"),
	)
	if tabsShown {
		t.Error("the tab bar shows before sign-in")
	}
	run("sign in", signIn(base, testToken, h.acct), hasText("#kpis", "Hits"), shots.take("overview-empty"))

	// 1. The traffic source, from the ExoClick template: the goal id is
	// the one thing to type.
	var postback string
	run("an ExoClick traffic source through the form",
		openTab("s2s"),
		hasText("#sources tbody", "None yet"),
		choose("#source-template", "exoclick"),
		chromedp.SetValue("#source-id", "exo"),
		typeIn("#source-goal", "66a8605e6cce49fbb8056f273f8e1a2e"),
		chromedp.Value("#source-postback", &postback),
		chromedp.Click(`#source-form button[type="submit"]`),
		hasText("#source-result", "Saved traffic source exo."),
		hasText(`#sources tr[data-id="exo"]`, "ExoClick"),
	)
	if want := "http://s.magsrv.com/tag.php?goal=66a8605e6cce49fbb8056f273f8e1a2e&tag={external_id}&value={payout}"; postback != want {
		t.Errorf("ExoClick postback filled in as %q, want %q", postback, want)
	}

	// 2. The network, with a secret; its postback URL is shown.
	const secret = "network-secret-0123456789"
	var networkURL string
	run("a network through the form",
		choose("#network-preset", "generic"),
		chromedp.SetValue("#network-id", "net1"),
		chromedp.SetValue("#network-secret", secret),
		chromedp.Click(`#network-form button[type="submit"]`),
		hasText("#network-result", "Saved network net1."),
		chromedp.WaitVisible("#network-postback-url"),
		chromedp.Value("#network-postback-url", &networkURL),
		hasText(`#networks tr[data-id="net1"]`, "/v1/postback/"+h.acct+"/net1?cid={sub1}"),
	)
	if want := base + "/v1/postback/" + h.acct + "/net1?cid={sub1}&payout={payout}&txid={transaction_id}&status={status}&secret=YOUR_SECRET"; networkURL != want {
		t.Errorf("network postback URL %q, want %q", networkURL, want)
	}

	// 3. The campaign: its link, with ExoClick's macros, ready to paste.
	var link, campaignPostback string
	run("a campaign through the form",
		chromedp.SetValue("#campaign-id", "summer"),
		choose("#campaign-source", "exo"),
		choose("#campaign-network", "net1"),
		chromedp.SetValue("#campaign-offer", "https://offer.example/?s1={clickid}&zone={zoneid}"),
		chromedp.Click("#goal-add"),
		chromedp.SetValue(`#goals .goal-id`, "default"),
		chromedp.Click(`#campaign-form button[type="submit"]`),
		hasText("#campaign-result", "Saved campaign summer."),
		hasText(`#campaigns tr[data-id="summer"]`, "net1"),
		chromedp.WaitVisible("#campaign-links"),
		chromedp.Value("#campaign-link", &link),
		chromedp.Value("#campaign-postback", &campaignPostback),
		shots.take("tracking-setup"),
	)
	if want := base + "/c/summer?external_id={conversions_tracking}&zoneid={zone_id}&campid={campaign_id}&siteid={site_id}" +
		"&variation_id={variation_id}&catid={category_id}&country={country}&format={format}&cost={actual_cost}"; link != want {
		t.Fatalf("campaign link\n got %q\nwant %q", link, want)
	}
	if campaignPostback != networkURL {
		t.Errorf("the campaign shows postback URL %q, its network %q", campaignPostback, networkURL)
	}

	// The test postback: a real click and a pending conversion, answered ok.
	run("send a test postback",
		choose("#test-status", "pending"),
		chromedp.Click(`#test-form button[type="submit"]`),
		hasText("#test-result", "The network's postback works: it answered ok."),
		hasText("#test-result", "Postback: 200 ok"),
	)

	// ExoClick sends a visitor: the link with its macros filled in.
	visit := strings.NewReplacer("{conversions_tracking}", "EXO-CONV-1", "{zone_id}", "42", "{campaign_id}", "777", "{site_id}", "9",
		"{variation_id}", "3", "{category_id}", "12", "{country}", "FR", "{format}", "popunder", "{actual_cost}", "0.002").Replace(link)
	resp, err := noRedirect.Get(visit)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	offer, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || offer == nil || offer.Host != "offer.example" || offer.Query().Get("zone") != "42" {
		t.Fatalf("campaign link: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	clickID := offer.Query().Get("s1")
	// The network reports the sale: the postback URL shown, its macros
	// replaced and the secret written in.
	fire := strings.NewReplacer("{sub1}", clickID, "{payout}", "5.50", "{transaction_id}", "T1", "{status}", "approved",
		"YOUR_SECRET", secret).Replace(networkURL)
	resp, err = http.Get(fire)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("the postback URL shown, filled in: %d %q", resp.StatusCode, body)
	}
	h.settle()

	run("the conversion in the conversion log",
		chromedp.Focus(`#tabs button[data-view="logs"]`),
		chromedp.KeyEvent(kb.Enter), // the tab bar works from the keyboard
		loaded("logs"),
		choose("#log-kind", "conversions"),
		loaded("logs"),
		hasText(`#log tbody tr[data-click="`+clickID+`"]`, "T1"),
		hasText(`#log tbody tr[data-click="`+clickID+`"]`, "approved"),
		hasText(`#log tbody tr[data-click="`+clickID+`"]`, "5.50 USD"),
		hasText(`#log tbody tr[data-click="`+clickID+`"]`, "42"),
		shots.take("logs"),
	)
	run("the click in the click log",
		choose("#log-kind", "clicks"),
		loaded("logs"),
		chromedp.SetValue("#log-zone", "42"),
		chromedp.Click(`#log-form button[type="submit"]`),
		loaded("logs"),
		hasText("#log tbody", clickID),
		hasText("#log tbody", "external_id=EXO-CONV-1"),
	)

	// The campaign report: the test click (pending) and the visitor's
	// (approved), then by zone.
	run("the campaign report",
		openTab("reports"),
		choose("#report-period", "today"),
		choose("#group-1", "campaign"),
		chromedp.Click(`#report-form button[type="submit"]`),
		loaded("reports"),
		hasText("#report tbody tr:first-child", "summer"),
		hasText("#report tbody tr:first-child td:nth-child(2)", "2"), // clicks
		hasText("#report tbody tr:first-child td:nth-child(3)", "1"), // approved
		hasText("#report tbody tr:first-child td:nth-child(4)", "1"), // pending: the test
		hasText("#report tbody tr:first-child", "50.00 %"),
		hasText("#report tbody tr:first-child", "5.50 USD"),
		hasText("#report tbody tr.total", "Total"),
		shots.take("campaign-report"),
	)
	var bars int
	run("drill down to the zone, with the keyboard",
		chromedp.Focus(`#report tbody tr:first-child button[aria-label^="Drill down"]`),
		chromedp.KeyEvent(kb.Enter),
		loaded("reports"),
		hasText("#report-filters", "campaign: summer"),
		hasText("#report thead", "zone"),
		hasText("#report tbody", "42"),
		hasText("#report tbody", "(none)"), // the test click had no zone
		chromedp.Evaluate(`document.querySelectorAll("#report-chart rect.bar.s1").length`, &bars),
		shots.take("campaign-report-zones"),
	)
	if bars != 1 {
		t.Errorf("the per-day chart of campaign summer today has %d click bars, want 1", bars)
	}
	// The chart has its axes' labels and each day's figures on hover.
	run("the chart's axes and hover values",
		hasText("#report-chart svg", "03-01"),                                           // the date axis
		hasText("#report-chart svg", "2026"),                                            // its year
		hasText("#report-chart svg text.tick", "0"),                                     // the value axis
		hasText("#report-chart svg g.day title", "2026-03-01: 2 clicks, 1 conversions"), // hover
	)
	var zoneRow string
	run("the zone's figures",
		chromedp.Evaluate(`Array.from(document.querySelectorAll("#report tbody tr")).find(r => r.cells[0].textContent === "42").textContent`, &zoneRow))
	if !strings.Contains(zoneRow, "5.50 USD") || !strings.Contains(zoneRow, "100.00 %") {
		t.Errorf("zone 42's row: %q", zoneRow)
	}
	run("download the CSV", chromedp.Click("#report-csv"), hasText("#status", "Downloaded campaigns.csv."))
	csvPath := filepath.Join(downloads, "campaigns.csv")
	waitFor(t, "campaigns.csv in the download directory", func() bool {
		b, err := os.ReadFile(csvPath)
		return err == nil && len(b) > 0
	})
	csv, _ := os.ReadFile(csvPath)
	if !strings.HasPrefix(string(csv), "line,zone,") || !strings.Contains(string(csv), "row,42,1,1,1,0,0,0,100.00,") {
		t.Errorf("the CSV downloaded:\n%s", csv)
	}

	// The overview shows it too.
	run("the overview",
		openTab("overview"),
		chromedp.Click(`[data-period="today"]`),
		loaded("overview"),
		hasText("#top-campaigns tbody", "summer"),
		hasText("#kpis", "Clicks2"),
		shots.take("overview"),
	)

	// Every page's fields have labels, those the script makes too.
	for _, view := range []string{"overview", "webinars", "attendees", "reports", "logs", "s2s", "leads", "deliveries", "activity", "audiences", "settings"} {
		var missing []string
		run("labels on "+view, openTab(view), chromedp.Evaluate(unlabelledFields, &missing), shots.take("page-"+view))
		if len(missing) > 0 {
			t.Errorf("page %s: fields without a label: %v", view, missing)
		}
	}

	// Delete the campaign: its link answers its 404 page.
	run("delete the campaign",
		openTab("s2s"),
		chromedp.Click(`#campaigns tr[data-id="summer"] button[aria-label="Delete campaign summer"]`),
		hasText(`#campaigns tr[data-id="summer"]`, "Click again"),
		chromedp.Click(`#campaigns tr[data-id="summer"] button[aria-label="Delete campaign summer"]`),
		hasText("#status", "Deleted campaign summer."),
		hasText("#campaigns tbody", "None yet"),
	)
	resp, err = noRedirect.Get(visit)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || resp.Header.Get("Location") != "" {
		t.Errorf("the deleted campaign's link: %d %q, want its 404 page", resp.StatusCode, resp.Header.Get("Location"))
	}

	// A phone: the overview fits 390 px.
	var overflow int
	run("the overview on a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		openTab("overview"),
		hasText("#top-campaigns tbody", "summer"),
		chromedp.Evaluate(`document.documentElement.scrollWidth - window.innerWidth`, &overflow),
		shots.take("overview-390"),
	)
	if overflow > 0 {
		t.Errorf("the overview is %d px wider than a 390 px phone", overflow)
	}
}
