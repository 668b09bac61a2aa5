package bench

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/report"
	"github.com/pixelpost/pixelpost/server"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/embedded"
	"github.com/pixelpost/pixelpost/storage/hitindex"
	"github.com/pixelpost/pixelpost/storage/wal"
)

// reportHits is the account of the embedded reports benchmark (SPEC §7:
// ≤ 300 ms for an account with 100,000 hits in the period): 100,000 hits
// over 30 days, as an affiliate marketer's and a webinar host's traffic
// mix: 60 % clicks on 20 campaigns × 50 zones × 10 countries (up to
// 10,000 groups of three levels), 12 %
// postbacks (a third pending then approved), 20 % conversion pixels, 8 %
// registrations. Another account's 50,000 hits share the file.
const (
	reportHits    = 100_000
	reportAccount = "bench"
)

var reportStart = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func reportMix(account string, n int) []storage.Hit {
	step := 30 * 24 * time.Hour / time.Duration(n)
	hits := make([]storage.Hit, 0, n)
	var clicks []storage.Hit
	for i := range n {
		at := reportStart.Add(time.Duration(i) * step)
		id := fmt.Sprintf("%s-%08d", account, i)
		switch r := i % 25; {
		case r < 15:
			k := storage.Hit{ID: id, Time: at, Account: account, Kind: storage.KindClick, Status: storage.StatusAccepted,
				ClickID: "k" + id, CampaignID: fmt.Sprintf("c%d", i%20), SourceID: "exo", NetworkID: "net", Currency: "USD",
				Cost: attribution.Micros(1000 + i%7*500), IP: "203.0.113.0", UserAgent: "Mozilla/5.0 (bench)",
				Macros: map[string]string{"zone_id": fmt.Sprintf("%d", 1000+(i/7)%50), "country": []string{"US", "FR", "DE", "GB", "BR", "IN", "JP", "CA", "ES", "IT"}[(i/350)%10],
					"external_id": id, "cost": "0.001"}, Query: "zone_id=1&country=US&external_id=" + id}
			hits = append(hits, k)
			clicks = append(clicks, k)
		case r < 18 && len(clicks) > 0:
			k := clicks[(i*7)%len(clicks)]
			st, conv := storage.StatusAccepted, "approved"
			if r == 15 {
				conv = "pending"
			}
			if r == 16 {
				st = storage.StatusUpdated
			}
			hits = append(hits, storage.Hit{ID: id, Time: at, Account: account, Kind: storage.KindPostback, Status: st,
				ClickID: k.ClickID, CampaignID: k.CampaignID, Macros: k.Macros, HasAmount: true, Amount: 2_500_000,
				Delta: 2_500_000, Currency: "USD", TxID: fmt.Sprintf("t%d", i/3), ConvStatus: conv, NetworkID: "net"})
		case r < 23:
			hits = append(hits, storage.Hit{ID: id, Time: at, Account: account, Kind: storage.KindPixel, Status: storage.StatusAccepted,
				Webinars: []string{"w1"}, Credited: []string{fmt.Sprintf("w%d", i%4)}, OrderID: "o" + id, HasAmount: true,
				Amount: 49_990_000, Delta: 49_990_000, Currency: "USD", AttendeeID: fmt.Sprintf("e_%d", i%5000),
				EmailSHA256: fmt.Sprintf("%064d", i%5000), Source: "pixel", Query: "webinarId=w1&email=REDACTED"})
		default:
			hits = append(hits, storage.Hit{ID: id, Time: at, Account: account, Kind: storage.KindRegistration,
				Status: storage.StatusAccepted, Credited: []string{fmt.Sprintf("w%d", i%4)}, AttendeeID: fmt.Sprintf("e_%d", i%7000)})
		}
	}
	return hits
}

// benchIndex builds the benchmark's index in dir, in batches of 4096
// rows as the follower writes them.
func benchIndex(b *testing.B, dir string) *hitindex.Index {
	b.Helper()
	x, err := hitindex.Open(hitindex.Config{Path: filepath.Join(dir, "hits.db"), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	hits := append(reportMix(reportAccount, reportHits), reportMix("neighbour", reportHits/2)...)
	for i := 0; i < len(hits); i += 4096 {
		if err := x.Add(hits[i:min(i+4096, len(hits))], wal.Pos(i+1)); err != nil {
			b.Fatal(err)
		}
	}
	return x
}

var reportPeriod = report.Range{From: reportStart, To: reportStart.AddDate(0, 0, 30)}

// BenchmarkEmbeddedReports times each report over the account's 100,000
// hits of the period, on the embedded hit index: ms/op is the answer time
// of one request (the server adds the JSON encoding).
func BenchmarkEmbeddedReports(b *testing.B) {
	ctx := context.Background()
	x := benchIndex(b, b.TempDir())
	defer x.Close()
	groups := 0
	for _, c := range []struct {
		name string
		run  func(x *hitindex.Index) error
	}{
		{"campaigns_by_campaign_zone_country", func(x *hitindex.Index) error {
			q := report.CampaignQuery{GroupBy: []string{"campaign", "zone", "country"}, Range: reportPeriod, TZ: "Europe/Paris"}
			res, err := x.CampaignSums(ctx, reportAccount, q)
			groups = len(report.Campaign(q, res, report.Rates{}).Rows)
			return err
		}},
		{"campaigns_by_day", func(x *hitindex.Index) error {
			q := report.CampaignQuery{GroupBy: []string{"day"}, Range: reportPeriod, TZ: "America/New_York"}
			_, err := x.CampaignSums(ctx, reportAccount, q)
			return err
		}},
		{"campaigns_drill_down", func(x *hitindex.Index) error {
			q := report.CampaignQuery{GroupBy: []string{"country"}, Filters: map[string]string{"campaign": "c3", "zone": "1003"}, Range: reportPeriod}
			_, err := x.CampaignSums(ctx, reportAccount, q)
			return err
		}},
		{"webinar_series", func(x *hitindex.Index) error {
			_, err := x.WebinarSeries(ctx, reportAccount, "w1", reportPeriod, "Europe/Paris")
			return err
		}},
		{"hits_by_status", func(x *hitindex.Index) error {
			_, err := x.HitsByStatus(ctx, reportAccount, reportPeriod)
			return err
		}},
		{"click_log_rare_filter", func(x *hitindex.Index) error {
			_, err := storage.ClickLog(ctx, x, reportAccount, report.LogQuery{Range: reportPeriod, Zone: "1003", Country: "DE"})
			return err
		}},
		{"conversion_log_page", func(x *hitindex.Index) error {
			_, err := storage.ConversionLog(ctx, x, reportAccount, report.LogQuery{Range: reportPeriod}, "approved")
			return err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := c.run(x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/report")
			if groups > 0 {
				b.ReportMetric(float64(groups), "rows")
				groups = 0
			}
		})
	}
}

// BenchmarkEmbeddedReportsHTTP times whole API requests (routing, the
// account's settings, the report, the JSON) on a server of the embedded
// default whose hit index holds the benchmark's account.
func BenchmarkEmbeddedReportsHTTP(b *testing.B) {
	dir := b.TempDir()
	x := benchIndex(b, filepath.Join(dir, "reports")) // where the server keeps it
	x.Close()
	l, err := embedded.Open(filepath.Join(dir, "ledger.db"), embedded.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	if err := l.PutAccount(context.Background(), storage.Account{ID: reportAccount, DefaultCurrency: "USD"}); err != nil {
		b.Fatal(err)
	}
	const token = "bench-admin-token-0123456789"
	cfg, err := server.Load([]string{"--admin-token", token, "--data-dir", dir}, func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(cfg, server.Deps{Ledger: l, Log: zerolog.Nop(), Now: func() time.Time { return reportStart.AddDate(0, 0, 29) }})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	for _, path := range []string{
		"/reports/campaigns?group_by=campaign,zone,country&preset=last_30_days",
		"/reports/campaigns?group_by=day&preset=last_30_days&tz=Europe/Paris",
		"/reports/webinars/w1/series?preset=last_30_days",
		"/reports/hits?preset=last_30_days",
		"/logs/conversions?status=approved",
		"/reports/campaigns?group_by=campaign,zone,country&preset=last_30_days&format=csv",
	} {
		b.Run(path, func(b *testing.B) {
			size := 0
			for range b.N {
				req := httptest.NewRequest("GET", "/api/v1/accounts/"+reportAccount+path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := srv.Handler().Test(req, -1)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					b.Fatalf("%s: %d %s", path, resp.StatusCode, body)
				}
				size = len(body)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/request")
			b.ReportMetric(float64(size), "bytes")
		})
	}
}
