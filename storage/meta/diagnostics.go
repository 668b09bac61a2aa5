package meta

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// What Meta's CRM integration checks before it optimises for a dataset
// (Meta's guide to the Conversions API for CRM, seed 001).
const (
	MinStages         = 2    // the raw-lead stage and at least one later stage
	RecommendedStages = 3    // three or more
	DaysNeeded        = 7    // days with data, not necessarily in a row
	MinRate           = 0.01 // an optimisation stage converts 1 % ...
	MaxRate           = 0.40 // ... to 40 % of raw leads
)

// StageStats are the events of one funnel stage (event_name).
type StageStats struct {
	Name string `json:"name"`
	// Leads counts the distinct leads with this stage sent or pending.
	Leads   int `json:"leads"`
	Sent    int `json:"sent"`
	Pending int `json:"pending"`
	Failed  int `json:"failed"`
	// Raw marks the raw-lead (first) stage; see Diagnostics.RawStage.
	Raw bool `json:"raw"`
	// ConversionRate is Leads over the raw stage's Leads (1 for the raw
	// stage, 0 without one); RateOutOfBand flags a later stage outside
	// [MinRate, MaxRate].
	ConversionRate float64 `json:"conversion_rate"`
	RateOutOfBand  bool    `json:"rate_out_of_band"`
}

// Diagnostics says how a dataset stands against Meta's requirements for
// CRM datasets (SPEC §3.3). Counts cover the events stored: sent and
// pending events make the funnel; failed and rejected ones are counted
// apart.
type Diagnostics struct {
	Account   string    `json:"account"`
	DatasetID string    `json:"dataset_id"`
	At        time.Time `json:"at"`
	// Stages: the raw-lead stage first, then by distinct leads, descending.
	Stages []StageStats `json:"stages"`
	// RawStage is the raw-lead stage, the one a lead enters first: the
	// stage of each lead's earliest event (by event_time) gets one vote and
	// the stage with the most votes wins; ties go to the stage with more
	// distinct leads, then to the smaller name. "" without events.
	RawStage     string `json:"raw_stage"`
	RawStageSent bool   `json:"raw_stage_sent"`
	// StageCount counts stages with sent or pending events.
	StageCount        int  `json:"stage_count"`
	EnoughStages      bool `json:"enough_stages"`      // StageCount ≥ MinStages
	RecommendedStages bool `json:"recommended_stages"` // StageCount ≥ RecommendedStages
	// DaysWithData counts the distinct UTC days of the event_time of sent
	// and pending events.
	DaysWithData int  `json:"days_with_data"`
	EnoughDays   bool `json:"enough_days"` // DaysWithData ≥ DaysNeeded
	// LeadsReceived counts the distinct lead ids enqueued (rejected events
	// aside); LeadsUploaded those with at least one event sent.
	LeadsReceived  int `json:"leads_received"`
	LeadsUploaded  int `json:"leads_uploaded"`
	EventsUploaded int `json:"events_uploaded"` // sent
	EventsPending  int `json:"events_pending"`
	EventsFailed   int `json:"events_failed"`
	// EventsRejected counts the rejected events kept (the latest 10000).
	EventsRejected int `json:"events_rejected"`
	// EventsReceivedByMeta sums the events_received of Meta's answers.
	EventsReceivedByMeta int64 `json:"events_received_by_meta"`
	// PausedUntil is set while sending is paused (rate limit, errors).
	PausedUntil time.Time `json:"paused_until,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastSentAt  time.Time `json:"last_sent_at,omitzero"`
	// Warnings are human-readable problems, most urgent first; empty when
	// the dataset meets every requirement.
	Warnings []string `json:"warnings"`
}

// Diagnostics computes a dataset's diagnostics at now. It scans the
// dataset's events. Errors: ErrNotFound, ErrClosed, storage errors.
func (f *Forwarder) Diagnostics(ctx context.Context, account, datasetID string, now time.Time) (Diagnostics, error) {
	dg := Diagnostics{Account: account, DatasetID: datasetID, At: now, Stages: []StageStats{}, Warnings: []string{}}
	if err := ctx.Err(); err != nil {
		return dg, err
	}
	type first struct {
		at    time.Time
		stage string
	}
	stages := map[string]*StageStats{}
	stageLeads := map[string]map[string]struct{}{}
	firsts := map[string]first{}   // lead -> its earliest counted event
	leads := map[string]bool{}     // lead -> has an event sent
	daySet := map[int64]struct{}{} // unix day
	warnAge := f.cfg.MaxAge - warnAgeMargin
	var old int
	var st stateRec
	err := f.db.View(func(tx *bolt.Tx) error {
		b := dsBucket(tx, account, datasetID)
		if b == nil {
			return ErrNotFound
		}
		var err error
		if st, err = getState(b); err != nil {
			return err
		}
		dg.EventsRejected = b.Bucket(bucketRejected).Stats().KeyN
		return b.Bucket(bucketEvents).ForEach(func(_, v []byte) error {
			r, err := decode[eventRec](v, "event")
			if err != nil {
				return err
			}
			s := stages[r.EventName]
			if s == nil {
				s = &StageStats{Name: r.EventName}
				stages[r.EventName] = s
				stageLeads[r.EventName] = map[string]struct{}{}
			}
			leads[r.LeadID] = leads[r.LeadID] || r.Status == StatusSent
			switch r.Status {
			case StatusSent:
				s.Sent++
				dg.EventsUploaded++
			case StatusPending:
				s.Pending++
				dg.EventsPending++
				if now.Sub(r.EventTime) >= warnAge {
					old++
				}
			default:
				s.Failed++
				dg.EventsFailed++
				return nil
			}
			stageLeads[r.EventName][r.LeadID] = struct{}{}
			daySet[r.EventTime.Unix()/86400] = struct{}{}
			if fl, ok := firsts[r.LeadID]; !ok || r.EventTime.Before(fl.at) ||
				(r.EventTime.Equal(fl.at) && r.EventName < fl.stage) {
				firsts[r.LeadID] = first{r.EventTime, r.EventName}
			}
			return nil
		})
	})
	if err != nil {
		return dg, wrap(err)
	}
	dg.EventsReceivedByMeta, dg.LastError, dg.LastSentAt = st.EventsReceived, st.LastError, st.LastSentAt
	if st.PausedUntil.After(now) {
		dg.PausedUntil = st.PausedUntil
	}
	dg.LeadsReceived = len(leads)
	for _, sent := range leads {
		if sent {
			dg.LeadsUploaded++
		}
	}
	dg.DaysWithData = len(daySet)
	dg.EnoughDays = dg.DaysWithData >= DaysNeeded

	votes := map[string]int{}
	for _, fl := range firsts {
		votes[fl.stage]++
	}
	for name, s := range stages {
		s.Leads = len(stageLeads[name])
		if s.Leads > 0 {
			dg.StageCount++
		}
	}
	for name, s := range stages {
		if s.Leads == 0 {
			continue
		}
		if dg.RawStage == "" {
			dg.RawStage = name
			continue
		}
		r := stages[dg.RawStage]
		if c := cmp.Or(cmp.Compare(votes[name], votes[dg.RawStage]), cmp.Compare(s.Leads, r.Leads),
			cmp.Compare(dg.RawStage, name)); c > 0 {
			dg.RawStage = name
		}
	}
	dg.EnoughStages = dg.StageCount >= MinStages
	dg.RecommendedStages = dg.StageCount >= RecommendedStages

	var rawLeads int
	if raw := stages[dg.RawStage]; raw != nil {
		raw.Raw, raw.ConversionRate = true, 1
		rawLeads = raw.Leads
		dg.RawStageSent = raw.Sent > 0
	}
	var inBand bool
	var rates []string
	for _, s := range stages {
		if s.Raw || s.Leads == 0 || rawLeads == 0 {
			continue
		}
		s.ConversionRate = float64(s.Leads) / float64(rawLeads)
		s.RateOutOfBand = s.ConversionRate < MinRate || s.ConversionRate > MaxRate
		inBand = inBand || !s.RateOutOfBand
		rates = append(rates, fmt.Sprintf("%q %.1f %%", s.Name, 100*s.ConversionRate))
	}
	for _, s := range stages {
		dg.Stages = append(dg.Stages, *s)
	}
	slices.SortFunc(dg.Stages, func(a, b StageStats) int {
		if a.Raw != b.Raw {
			if a.Raw {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(b.Leads, a.Leads), cmp.Compare(a.Name, b.Name))
	})
	slices.Sort(rates)

	w := func(format string, args ...any) { dg.Warnings = append(dg.Warnings, fmt.Sprintf(format, args...)) }
	if !dg.PausedUntil.IsZero() {
		w("sending is paused until %s: %s", dg.PausedUntil.UTC().Format(time.RFC3339), dg.LastError)
	}
	if old > 0 {
		w("%d events are over %s old and not sent: Meta refuses events older than %s",
			old, days(warnAge), days(f.cfg.MaxAge))
	}
	if dg.EventsFailed > 0 {
		w("%d events failed: the failed events list Meta's messages", dg.EventsFailed)
	}
	if dg.StageCount == 0 {
		w("no event received yet")
	} else {
		if !dg.RawStageSent {
			w("the raw-lead stage %q has no event sent yet: Meta needs it to know the leads were received", dg.RawStage)
		}
		switch {
		case dg.StageCount < MinStages:
			w("only %d stage seen: Meta needs at least %d, the raw-lead stage included (%d recommended)",
				dg.StageCount, MinStages, RecommendedStages)
		case dg.StageCount < RecommendedStages:
			w("%d stages seen: %d or more are recommended", dg.StageCount, RecommendedStages)
		}
		if len(rates) > 0 && !inBand {
			w("no later stage converts between %.0f %% and %.0f %% of raw leads, as Meta needs for one optimisation stage: %s",
				100*MinRate, 100*MaxRate, strings.Join(rates, ", "))
		}
	}
	if dg.StageCount > 0 && !dg.EnoughDays {
		w("events on %d days: Meta needs %d days with data (not necessarily in a row)", dg.DaysWithData, DaysNeeded)
	}
	if n := dg.LeadsReceived - dg.LeadsUploaded; n > 0 {
		w("%d of %d leads received have no event sent yet", n, dg.LeadsReceived)
	}
	if dg.EventsRejected > 0 {
		w("%d events were rejected at intake: the rejected events list the reasons", dg.EventsRejected)
	}
	return dg, nil
}
