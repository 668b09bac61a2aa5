package ledgertest

import (
	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
)

func configCases() []testCase {
	return []testCase{
		{"ping", func(f *fixture) {
			if err := f.l.Ping(f.ctx); err != nil {
				f.Fatalf("Ping: %v", err)
			}
		}},
		{"account_round_trip", func(f *fixture) {
			got, err := f.l.Account(f.ctx, f.acct)
			if err != nil {
				f.Fatalf("Account: %v", err)
			}
			if want := (storage.Account{ID: f.acct, Name: "Conformance " + f.acct, DefaultCurrency: "USD"}); got != want {
				f.Errorf("Account:\n got  %+v\n want %+v", got, want)
			}
			want := storage.Account{ID: f.acct, Name: "Renamed", DefaultCurrency: "EUR"}
			if err := f.l.PutAccount(f.ctx, want); err != nil {
				f.Fatalf("PutAccount (replace): %v", err)
			}
			if got, err = f.l.Account(f.ctx, f.acct); err != nil || got != want {
				f.Errorf("Account after replace: %+v, %v; want %+v", got, err, want)
			}
			want.MaxAmount = 2500 * attribution.MicrosPerUnit
			if err := f.l.PutAccount(f.ctx, want); err != nil {
				f.Fatalf("PutAccount (max_amount): %v", err)
			}
			if got, err = f.l.Account(f.ctx, f.acct); err != nil || got != want {
				f.Errorf("Account with a max_amount: %+v, %v; want %+v", got, err, want)
			}
		}},
		{"new_account_is_empty", func(f *fixture) {
			f.wantWebinars()
			f.noAttendee("nobody@example.com")
			f.unlisted("w1")
		}},
		{"put_webinar_replaces_name_and_tags", func(f *fixture) {
			put := func(w storage.Webinar) {
				f.Helper()
				if err := f.l.PutWebinar(f.ctx, f.acct, w); err != nil {
					f.Fatalf("PutWebinar(%s): %v", w.ID, err)
				}
			}
			put(storage.Webinar{ID: "w2", Name: "Second", Tags: []string{"b", "a", "b"}})
			put(storage.Webinar{ID: "w1", Name: "Intro"})
			f.wantWebinars(
				storage.Webinar{ID: "w1", Name: "Intro", Tags: []string{}},
				storage.Webinar{ID: "w2", Name: "Second", Tags: []string{"a", "b"}},
			)
			put(storage.Webinar{ID: "w2", Name: "Second, again", Tags: nil})
			put(storage.Webinar{ID: "w1", Name: "Intro 2", Tags: []string{"c"}})
			f.wantWebinars(
				storage.Webinar{ID: "w1", Name: "Intro 2", Tags: []string{"c"}},
				storage.Webinar{ID: "w2", Name: "Second, again", Tags: []string{}},
			)
			// A configured webinar without activity has zero stats and no
			// registrants.
			f.wantStats("w1", storage.WebinarStats{})
			f.wantRegistrants("w1")
		}},
		{"unknown_account_rejected", func(f *fixture) {
			ghost := randomID("lt-ghost-")
			f.expect(f.conv("o1").account(ghost).webinars("w1").amount("10").email("a@example.com"),
				rejected(storage.ReasonUnknownAccount, ""))
			f.expect(f.reg("w1").account(ghost).email("a@example.com"),
				rejected(storage.ReasonUnknownAccount, ""))
			_, err := f.l.Account(f.ctx, ghost)
			f.wantNotFound("Account of an account only named by hits", err)
			_, err = f.l.Webinars(f.ctx, ghost)
			f.wantNotFound("Webinars of an account only named by hits", err)
		}},
		{"reads_not_found", func(f *fixture) {
			ghost := randomID("lt-ghost-")
			_, err := f.l.Account(f.ctx, ghost)
			f.wantNotFound("Account(unknown)", err)
			_, err = f.l.Webinars(f.ctx, ghost)
			f.wantNotFound("Webinars(unknown account)", err)
			_, err = f.l.WebinarStats(f.ctx, ghost, "w1")
			f.wantNotFound("WebinarStats(unknown account)", err)
			_, err = f.l.Attendee(f.ctx, ghost, "a@example.com")
			f.wantNotFound("Attendee(unknown account)", err)
			_, err = f.l.Registrants(f.ctx, ghost, "w1")
			f.wantNotFound("Registrants(unknown account)", err)
			err = f.l.PutWebinar(f.ctx, ghost, storage.Webinar{ID: "w1"})
			f.wantNotFound("PutWebinar(unknown account)", err)

			f.do(f.conv("o1").webinars("w1").amount("1").email("a@example.com").cookie("ck-1"))
			_, err = f.l.WebinarStats(f.ctx, f.acct, "w-unknown")
			f.wantNotFound("WebinarStats(unknown webinar)", err)
			_, err = f.l.Registrants(f.ctx, f.acct, "w-unknown")
			f.wantNotFound("Registrants(unknown webinar)", err)
			_, err = f.l.Attendee(f.ctx, f.acct, "b@example.com")
			f.wantNotFound("Attendee(unknown email)", err)
			// Attendee finds email attendees only, not by cookie id or attendee id.
			_, err = f.l.Attendee(f.ctx, f.acct, "ck-1")
			f.wantNotFound("Attendee(cookie)", err)
			_, err = f.l.Attendee(f.ctx, f.acct, eid("a@example.com"))
			f.wantNotFound("Attendee(attendee id)", err)
		}},
	}
}
