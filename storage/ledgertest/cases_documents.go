package ledgertest

import (
	"errors"
	"maps"
	"slices"

	"github.com/pixelpost/pixelpost/storage"
)

func documentCases() []testCase {
	return []testCase{
		{"config_documents_round_trip", func(f *fixture) {
			if _, err := f.l.Config(f.ctx, f.acct, storage.ConfigSource, "exo"); !errors.Is(err, storage.ErrNotFound) {
				f.Errorf("missing document: %v, want ErrNotFound", err)
			}
			put := func(kind, id, doc string) {
				f.Helper()
				if err := f.l.PutConfig(f.ctx, f.acct, kind, id, []byte(doc)); err != nil {
					f.Fatalf("PutConfig(%s, %s): %v", kind, id, err)
				}
			}
			put(storage.ConfigSource, "exo", `{"postback_url":"http://a/{external_id}"}`)
			put(storage.ConfigSource, "exo", `{"postback_url":"http://b/{external_id}"}`) // replaces
			put(storage.ConfigSource, "pop", `{}`)
			put(storage.ConfigNetwork, "exo", `{"preset":"generic"}`) // kinds are separate
			got, err := f.l.Config(f.ctx, f.acct, storage.ConfigSource, "exo")
			if err != nil || string(got) != `{"postback_url":"http://b/{external_id}"}` {
				f.Errorf("Config = %s, %v", got, err)
			}
			all, err := f.l.Configs(f.ctx, f.acct, storage.ConfigSource)
			if err != nil || !slices.Equal(slices.Sorted(maps.Keys(all)), []string{"exo", "pop"}) {
				f.Errorf("Configs = %v, %v", all, err)
			}
			if err := f.l.PutConfig(f.ctx, randomID("nosuch-"), storage.ConfigSource, "x", []byte("{}")); !errors.Is(err, storage.ErrNotFound) {
				f.Errorf("PutConfig on an unknown account: %v, want ErrNotFound", err)
			}
			for range 2 { // deleting twice is not an error
				if err := f.l.DeleteConfig(f.ctx, f.acct, storage.ConfigSource, "pop"); err != nil {
					f.Fatalf("DeleteConfig: %v", err)
				}
			}
			if _, err := f.l.Config(f.ctx, f.acct, storage.ConfigSource, "pop"); !errors.Is(err, storage.ErrNotFound) {
				f.Errorf("a deleted document: %v, want ErrNotFound", err)
			}
			if got, _ := f.l.Config(f.ctx, f.acct, storage.ConfigNetwork, "exo"); string(got) != `{"preset":"generic"}` {
				f.Errorf("another kind's document after a delete: %s", got)
			}
		}},
		{"a_deleted_global_id_can_be_taken", func(f *fixture) {
			id := randomID("camp-")
			if err := f.l.PutConfig(f.ctx, f.acct, storage.ConfigCampaign, id, []byte(`{}`)); err != nil {
				f.Fatal(err)
			}
			other := f.newAccount()
			if err := f.l.DeleteConfig(f.ctx, other, storage.ConfigCampaign, id); err != nil {
				f.Fatal(err) // not its own: the claim stays
			}
			if err := f.l.PutConfig(f.ctx, other, storage.ConfigCampaign, id, []byte(`{}`)); !errors.Is(err, storage.ErrConflict) {
				f.Errorf("another account's id after its own delete: %v, want ErrConflict", err)
			}
			if err := f.l.DeleteConfig(f.ctx, f.acct, storage.ConfigCampaign, id); err != nil {
				f.Fatal(err)
			}
			if err := f.l.PutConfig(f.ctx, other, storage.ConfigCampaign, id, []byte(`{}`)); err != nil {
				f.Errorf("an id deleted by its owner: %v", err)
			}
		}},
		{"campaign_ids_are_global", func(f *fixture) {
			id := randomID("camp-")
			if err := f.l.PutConfig(f.ctx, f.acct, storage.ConfigCampaign, id, []byte(`{"v":1}`)); err != nil {
				f.Fatal(err)
			}
			if err := f.l.PutConfig(f.ctx, f.acct, storage.ConfigCampaign, id, []byte(`{"v":2}`)); err != nil {
				f.Fatalf("the owner replacing its campaign: %v", err)
			}
			if owner, err := f.l.ConfigOwner(f.ctx, storage.ConfigCampaign, id); err != nil || owner != f.acct {
				f.Errorf("ConfigOwner = %q, %v; want %s", owner, err, f.acct)
			}
			other := f.newAccount()
			if err := f.l.PutConfig(f.ctx, other, storage.ConfigCampaign, id, []byte(`{}`)); !errors.Is(err, storage.ErrConflict) {
				f.Errorf("another account taking the id: %v, want ErrConflict", err)
			}
			if _, err := f.l.ConfigOwner(f.ctx, storage.ConfigCampaign, randomID("none-")); !errors.Is(err, storage.ErrNotFound) {
				f.Errorf("unknown campaign owner: %v, want ErrNotFound", err)
			}
		}},
	}
}
