package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/pixelpost/pixelpost/attribution"
)

// templatesView is what the setup forms start from: traffic source
// templates, network presets and CRM presets, as attribution declares
// them (the one place they live).
type templatesView struct {
	Sources  []attribution.SourceTemplate `json:"sources"`
	Networks []networkPresetView          `json:"networks"`
	CRM      []crmPresetView              `json:"crm_presets"`
}

type networkPresetView struct {
	Name string `json:"name"`
	// Params are the parameter names its postbacks use, Macros what the
	// network writes for each value in the URL it is given.
	Params attribution.ParamNames `json:"params"`
	Macros attribution.ParamNames `json:"macros"`
}

type crmPresetView struct {
	Name    string                 `json:"name"`
	Mapping attribution.CRMMapping `json:"mapping"`
}

// templates answers the templates and presets (any key of the account).
func (s *Server) templates(c *fiber.Ctx) error {
	var v templatesView
	for _, name := range attribution.SourceTemplateNames() {
		t, _ := attribution.LookupSourceTemplate(name)
		v.Sources = append(v.Sources, t)
	}
	for _, name := range attribution.PresetNames() {
		p, _ := attribution.LookupPreset(name)
		v.Networks = append(v.Networks, networkPresetView{Name: p.Name, Params: p.Params, Macros: p.Macros})
	}
	for _, name := range attribution.CRMPresetNames() {
		m, _ := attribution.CRMPreset(name)
		v.CRM = append(v.CRM, crmPresetView{Name: name, Mapping: m})
	}
	return c.JSON(v)
}
