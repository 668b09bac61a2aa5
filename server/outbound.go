package server

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/pixelpost/pixelpost/attribution"
	"github.com/pixelpost/pixelpost/storage"
	"github.com/pixelpost/pixelpost/storage/outbox"
)

// enqueueTimeout bounds the durable write of a batch's deliveries.
const enqueueTimeout = 10 * time.Second

// announce enqueues the outbound deliveries a batch of decided hits calls
// for: CRM webhooks (webhooks.go) and outbound postbacks (SPEC §3.1): the conversion's traffic source is told, through its
// template, when the conversion reaches a status the source wants
// (approved by default), and told again through its correction template
// when a conversion it was told about changes. Each is enqueued durably
// before the postback that caused it is answered; its idempotency key
// (conversion, status, value) makes a replay enqueue nothing new.
func (s *Server) announce(hits []storage.Hit) {
	var ds []outbox.Delivery
	for i := range hits {
		if d, ok := s.announcement(&hits[i]); ok {
			ds = append(ds, d)
		}
		ds = append(ds, s.webhookDeliveries(&hits[i])...)
	}
	if len(ds) == 0 {
		return
	}
	// Concurrent enqueues share one outbox commit (bbolt Batch).
	ctx, cancel := context.WithTimeout(context.Background(), enqueueTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.outbox.Enqueue(ctx, d); err != nil {
				s.metrics.hit(d.Kind, "outbound", "enqueue_failed")
				s.errLog.Error().Err(err).Str("account", d.Account).Str("kind", d.Kind).Msg("cannot enqueue outbound delivery")
			}
		}()
	}
	wg.Wait()
}

// announcement is the outbound postback of one decided hit, if any.
func (s *Server) announcement(h *storage.Hit) (outbox.Delivery, bool) {
	if h.Kind != storage.KindPostback || (h.Status != storage.StatusAccepted && h.Status != storage.StatusUpdated) {
		return outbox.Delivery{}, false
	}
	camp, err := s.configs.campaign(h.Account, h.CampaignID)
	if err != nil || camp.SourceID == "" {
		return outbox.Delivery{}, false
	}
	src, err := s.configs.source(h.Account, camp.SourceID)
	if err != nil {
		s.errLog.Warn().Err(err).Str("account", h.Account).Msg("no source for an outbound postback")
		return outbox.Delivery{}, false
	}
	if !enabled(src.Enabled) {
		s.metrics.hit(storage.KindPostback, "outbound", "source_disabled")
		return outbox.Delivery{}, false
	}
	wanted := func(st string) bool { return slices.Contains(src.Statuses, st) }
	tmpl := src.PostbackURL
	if h.PrevConvStatus != "" && wanted(h.PrevConvStatus) {
		// The source was told about this conversion: a change is a
		// correction, sent only where the source takes them.
		if src.CorrectionURL == "" {
			s.metrics.hit(storage.KindPostback, "outbound", "correction_not_configured")
			return outbox.Delivery{}, false
		}
		tmpl = src.CorrectionURL
	} else if !wanted(h.ConvStatus) {
		return outbox.Delivery{}, false
	}
	value := attribution.FormatAmount(h.Amount, h.Currency)
	url, _, err := attribution.RenderTemplate(tmpl, func(name string) (string, bool) {
		switch name {
		case "clickid":
			return h.ClickID, true
		case "payout", "revenue":
			return value, true
		case "currency":
			return h.Currency, true
		case "txid":
			return h.TxID, true
		case "goal":
			return h.Goal, true
		case "status":
			return h.ConvStatus, true
		}
		v, ok := h.Macros[name]
		return v, ok
	})
	if err != nil {
		s.errLog.Error().Err(err).Str("account", h.Account).Msg("cannot render outbound postback")
		return outbox.Delivery{}, false
	}
	key := storage.ConvKey(h.ClickID, h.TxID, h.Goal) + "|" + h.ConvStatus + "|" + value
	return outbox.Delivery{Account: h.Account, Kind: outbox.KindPostback, Key: key, Method: "GET", URL: url}, true
}
