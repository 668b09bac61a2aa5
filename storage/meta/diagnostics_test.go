package meta_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pixelpost/pixelpost/storage/meta"
)

func TestDiagnostics(t *testing.T) {
	e := newEnv(t, testConfig(t), ok)
	ctx := context.Background()
	now := e.clock.Now()
	day := 24 * time.Hour

	dg, err := e.f.Diagnostics(ctx, testAccount, testDataset, now)
	if err != nil {
		t.Fatal(err)
	}
	if dg.StageCount != 0 || !contains(dg.Warnings, "no event received yet") {
		t.Errorf("empty dataset: %+v", dg)
	}

	// 100 raw leads over 4 days; 60 reach "Contacted" (60 %, out of the
	// band), 5 reach "Won" (5 %, in it). Later stages have later times.
	var evs []meta.Event
	for i := range 100 {
		at := now.Add(-time.Duration(i%4)*day - 3*time.Hour)
		evs = append(evs, meta.Event{LeadID: lead(i), EventName: "Lead", EventTime: at})
		if i < 60 {
			evs = append(evs, meta.Event{LeadID: lead(i), EventName: "Contacted", EventTime: at.Add(time.Hour)})
		}
		if i < 5 {
			evs = append(evs, meta.Event{LeadID: lead(i), EventName: "Won", EventTime: at.Add(2 * time.Hour)})
		}
	}
	// "Contacted" listed first in the call, to show the raw stage is not
	// the first stage enqueued.
	enqueue(t, e, append(evs[1:], evs[0]))
	enqueue(t, e, []meta.Event{{LeadID: "42", EventName: "Lead", EventTime: now}}) // rejected

	dg, err = e.f.Diagnostics(ctx, testAccount, testDataset, now)
	if err != nil {
		t.Fatal(err)
	}
	if dg.RawStage != "Lead" || dg.RawStageSent || dg.StageCount != 3 || !dg.EnoughStages || !dg.RecommendedStages {
		t.Errorf("stages: raw %q sent %v count %d", dg.RawStage, dg.RawStageSent, dg.StageCount)
	}
	if dg.DaysWithData != 4 || dg.EnoughDays {
		t.Errorf("days with data %d", dg.DaysWithData)
	}
	if dg.LeadsReceived != 100 || dg.LeadsUploaded != 0 || dg.EventsPending != 165 || dg.EventsRejected != 1 {
		t.Errorf("counts %+v", dg)
	}
	want := []meta.StageStats{
		{Name: "Lead", Leads: 100, Pending: 100, Raw: true, ConversionRate: 1},
		{Name: "Contacted", Leads: 60, Pending: 60, ConversionRate: 0.6, RateOutOfBand: true},
		{Name: "Won", Leads: 5, Pending: 5, ConversionRate: 0.05},
	}
	if len(dg.Stages) != 3 {
		t.Fatalf("stages %+v", dg.Stages)
	}
	for i := range want {
		if dg.Stages[i] != want[i] {
			t.Errorf("stage %d = %+v, want %+v", i, dg.Stages[i], want[i])
		}
	}
	for _, w := range []string{
		`the raw-lead stage "Lead" has no event sent yet`,
		"events on 4 days: Meta needs 7 days with data",
		"100 of 100 leads received have no event sent yet",
		"1 events were rejected",
	} {
		if !contains(dg.Warnings, w) {
			t.Errorf("warnings %q: want %q", dg.Warnings, w)
		}
	}
	if contains(dg.Warnings, "between 1 % and 40 %") {
		t.Errorf("warnings %q: Won is in the band", dg.Warnings)
	}

	start(t, e.f)
	waitStatus(t, e, meta.StatusSent, 165)
	dg, _ = e.f.Diagnostics(ctx, testAccount, testDataset, e.clock.Now())
	if !dg.RawStageSent || dg.LeadsUploaded != 100 || dg.EventsUploaded != 165 || dg.Stages[0].Sent != 100 {
		t.Errorf("after sending: %+v", dg)
	}
	if contains(dg.Warnings, "no event sent yet") {
		t.Errorf("warnings %q", dg.Warnings)
	}
}

func TestDiagnosticsStagesAndBand(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stages   map[string]int // stage -> leads (the first n leads)
		raw      string
		warnings []string
	}{
		{"one stage", map[string]int{"Lead": 10}, "Lead", []string{"only 1 stage seen: Meta needs at least 2"}},
		{"two stages", map[string]int{"Lead": 10, "Won": 1}, "Lead", []string{"2 stages seen: 3 or more are recommended"}},
		{"no stage in band", map[string]int{"Lead": 200, "Contacted": 150, "Won": 1}, "Lead",
			[]string{`no later stage converts between 1 % and 40 % of raw leads, as Meta needs for one optimisation stage: "Contacted" 75.0 %, "Won" 0.5 %`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testConfig(t), ok)
			now := e.clock.Now()
			var evs []meta.Event
			off := 0
			for _, st := range []string{"Lead", "Contacted", "Won"} {
				for i := range tc.stages[st] {
					evs = append(evs, meta.Event{LeadID: lead(i), EventName: st, EventTime: now.Add(time.Duration(off-10) * time.Minute)})
				}
				off++
			}
			enqueue(t, e, evs)
			dg, err := e.f.Diagnostics(context.Background(), testAccount, testDataset, now)
			if err != nil {
				t.Fatal(err)
			}
			if dg.RawStage != tc.raw {
				t.Errorf("raw stage %q, want %q", dg.RawStage, tc.raw)
			}
			for _, w := range tc.warnings {
				if !contains(dg.Warnings, w) {
					t.Errorf("warnings:\n%s\nwant %q", strings.Join(dg.Warnings, "\n"), w)
				}
			}
		})
	}
}
