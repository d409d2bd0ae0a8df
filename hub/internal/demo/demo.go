// Package demo runs Reviewhub with the project's fake App Store, Google
// Play, RuStore and a fake helpdesk (Omnidesk or Zendesk) on loopback,
// feeds them a stream of reviews and serves a small page to watch tickets
// and answer them (`make demo`).
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/reviewhub/reviewhub/hub/internal/stack"
	"github.com/reviewhub/reviewhub/sdk"
)

// Options of a demo run.
type Options struct {
	HubBin string
	// Helpdesk is the fake helpdesk the integration feeds: Omnidesk (the
	// default) or Zendesk.
	Helpdesk string
	// Plugins maps plugin names to binaries (the three stores' and the
	// helpdesk's).
	Plugins map[string]string
	DataDir string
	// HubAddr and UIAddr: loopback addresses (empty: any free port).
	HubAddr, UIAddr string
	// Step is the pause between stream events.
	Step time.Duration
	// Endless keeps generating reviews after the script.
	Endless bool
	// Out gets the narration; HubLog the hub's log.
	Out, HubLog io.Writer
	// Ready is called once everything runs.
	Ready func(*Demo)
	// Script replaces the scripted stream (nil: Script()).
	Script []Step
	// PollInterval of the apps (default 2s).
	PollInterval time.Duration
}

// Demo is a running demo.
type Demo struct {
	Fakes  *stack.Fakes
	Hub    *stack.Hub
	Config stack.Config
	UIURL  string
	secret string
	desk   desk
	out    io.Writer
	mu     sync.Mutex
	// review id → app id, for finding a review's store and its answer.
	reviewApp map[string]string
}

// WebhookSecret of the demo integration.
const WebhookSecret = "demo-webhook-secret"

// AdminToken of the demo hub (loopback only): the admin API and the web
// console sign in with it.
const AdminToken = "demo-admin-token-on-loopback"

// Store app ids in the fakes.
var storeAppIDs = map[string]string{
	AppIOS: "1000000001", AppIOSPublic: "1000000002", AppAndroid: "com.example.reviewhub", AppRuStore: "ru.example.reviewhub",
}

// Run starts everything, plays the script (and the endless stream if
// asked) until ctx ends, then stops the hub gracefully.
func Run(ctx context.Context, o Options) error {
	o.setDefaults()
	fakes, err := stack.StartFakes(nil)
	if err != nil {
		return err
	}
	defer fakes.Close()
	d, err := newDemo(o, fakes)
	if err != nil {
		return err
	}
	cfgPath, err := d.Config.Write()
	if err != nil {
		return err
	}
	d.Hub, err = stack.StartHub(ctx, o.HubBin, cfgPath, d.Config.Listen, o.HubLog)
	if err != nil {
		return err
	}
	defer func() {
		d.say("stopping the hub (SIGTERM)")
		if err := d.Hub.Stop(); err != nil {
			d.say("hub stop: %v", err)
		}
	}()
	closeUI, err := d.serveUI(o.UIAddr)
	if err != nil {
		return err
	}
	defer closeUI()
	d.banner()
	if o.Ready != nil {
		o.Ready(d)
	}
	d.play(ctx, o)
	return nil
}

func (o *Options) setDefaults() {
	if o.Step <= 0 {
		o.Step = 3 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.Script == nil {
		o.Script = Script()
	}
	if o.Helpdesk == "" {
		o.Helpdesk = Omnidesk
	}
}

// newDemo adds the demo's apps to the fakes and makes the hub's config: its
// integration feeds the fake helpdesk, which is connected to the hub's
// webhook.
func newDemo(o Options, fakes *stack.Fakes) (*Demo, error) {
	dk, err := newDesk(o.Helpdesk, fakes)
	if err != nil {
		return nil, err
	}
	deskSettings, err := fakes.HelpdeskSettings(o.Helpdesk, WebhookSecret)
	if err != nil {
		return nil, err
	}
	fakes.AppStore.AddApp(storeAppIDs[AppIOS])
	fakes.AppStore.AddApp(storeAppIDs[AppIOSPublic])
	fakes.GooglePlay.AddApp(storeAppIDs[AppAndroid])
	fakes.RuStore.AddApp(storeAppIDs[AppRuStore])
	if o.HubAddr == "" {
		if o.HubAddr, err = stack.FreeAddr(); err != nil {
			return nil, err
		}
	}
	d := &Demo{Fakes: fakes, secret: WebhookSecret, desk: dk, out: o.Out, reviewApp: map[string]string{}}
	d.Config = stack.Config{
		Listen: o.HubAddr, DataDir: o.DataDir, Plugins: o.Plugins, Integration: "demo",
		Helpdesk: o.Helpdesk, HelpdeskSetup: deskSettings,
		PollInterval: o.PollInterval, LogLevel: "info", AdminToken: AdminToken,
		Apps: []stack.App{
			{ID: AppIOS, Name: "Demo for iPhone", Store: "appstore", StoreAppID: storeAppIDs[AppIOS],
				Settings: fakes.AppStore.Settings(fakes.URL["appstore"])},
			{ID: AppIOSPublic, Name: "Demo Lite for iPhone", Store: "appstore", StoreAppID: storeAppIDs[AppIOSPublic],
				Settings: withCountries(fakes.AppStore.PublicSettings(fakes.URL["appstore"]))},
			{ID: AppAndroid, Name: "Demo for Android", Store: "googleplay", StoreAppID: storeAppIDs[AppAndroid],
				Settings: fakes.GooglePlay.Settings(fakes.URL["googleplay"])},
			{ID: AppRuStore, Name: "Demo for RuStore", Store: "rustore", StoreAppID: storeAppIDs[AppRuStore],
				Settings: fakes.RuStore.Settings(fakes.URL["rustore"])},
		},
	}
	dk.connect(d.Config.WebhookURL(), WebhookSecret)
	return d, nil
}

// serveUI serves the demo page on addr (empty: a free loopback port) and
// sets UIURL; the function returned stops it.
func (d *Demo) serveUI(addr string) (func(), error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo page: %w", err)
	}
	ui := &http.Server{Handler: d.page(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := ui.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("demo page", "error", err)
		}
	}()
	d.UIURL = "http://" + ln.Addr().String()
	return func() { ui.Close() }, nil
}

// play plays the script, a step every o.Step, then (o.Endless) generated
// steps, until ctx ends. A failed step is told and the next one played.
func (d *Demo) play(ctx context.Context, o Options) {
	for i := 0; ; i++ {
		var st Step
		switch {
		case i < len(o.Script):
			st = o.Script[i]
		case o.Endless:
			st = Generated(i)
		default:
			<-ctx.Done()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(o.Step):
		}
		if err := d.Play(ctx, st); err != nil {
			d.say("step failed: %v", err)
		}
	}
}

func withCountries(s sdk.Settings) sdk.Settings {
	s["countries"] = "us,gb,jp,ru,de"
	return s
}

func (d *Demo) say(format string, args ...any) {
	if d.out != nil {
		fmt.Fprintf(d.out, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
}

func (d *Demo) banner() {
	d.say(`Reviewhub demo is running.

  Watch and answer tickets:  %s
  Hub:                       http://%s  (health: /healthz)
  Web console:               http://%s/console/  (admin token: %s)
  Prometheus metrics:        http://%s/metrics  (docs/operations.md)
  %-27s%s
  Fake App Store Connect:    %s
  Fake Google Play:          %s
  Fake RuStore:              %s
  Hub data and log:          %s

Reviews arrive every few seconds; the hub polls each app every few seconds. Answer a %s on the page:
the answer goes through the %s webhook to the hub and is published in the fake store.
Ctrl-C stops everything.`,
		d.UIURL, d.Config.Listen, d.Config.Listen, AdminToken, d.Config.Listen, "Fake "+d.desk.title()+" API:", d.desk.api(),
		d.Fakes.URL["appstore"], d.Fakes.URL["googleplay"], d.Fakes.URL["rustore"], d.Config.DataDir, d.desk.noun(), d.desk.title())
}

// Play performs one step.
func (d *Demo) Play(ctx context.Context, st Step) error {
	d.say("%s", st.Say)
	if st.Review != nil {
		d.Put(st.App, *st.Review)
	}
	if st.AnswerReview != "" {
		t, ok := d.TicketOf(st.AnswerReview)
		if !ok {
			return fmt.Errorf("no %s for review %s yet", d.desk.noun(), st.AnswerReview)
		}
		if err := d.desk.answer(ctx, t.ID, st.Answer); err != nil {
			return fmt.Errorf("answer %s %s: %w", d.desk.noun(), t.ID, err)
		}
	}
	return nil
}

// TicketOf is the ticket of a review the script put (by its script id).
func (d *Demo) TicketOf(reviewID string) (Ticket, bool) {
	d.mu.Lock()
	app := d.reviewApp[reviewID]
	d.mu.Unlock()
	return d.desk.ticketOf(storeOf[app], reviewID)
}

// Put adds or edits a review in the store of app.
func (d *Demo) Put(app string, r sdk.Review) {
	d.mu.Lock()
	d.reviewApp[r.ID] = app
	d.mu.Unlock()
	id := storeAppIDs[app]
	r.AppID = id
	switch app {
	case AppIOS, AppIOSPublic:
		d.Fakes.AppStore.PutReview(id, r)
	case AppAndroid:
		d.Fakes.GooglePlay.PutReview(id, r)
	case AppRuStore:
		d.Fakes.RuStore.PutReview(id, r)
	}
}

// storeOf is the store of each app of the demo.
var storeOf = map[string]string{AppIOS: "appstore", AppIOSPublic: "appstore", AppAndroid: "googleplay", AppRuStore: "rustore"}

// StoreAnswer is the developer answer published in the store for a review
// the script put (by its script id).
func (d *Demo) StoreAnswer(reviewID string) (string, bool) {
	d.mu.Lock()
	app := d.reviewApp[reviewID]
	d.mu.Unlock()
	if store, ok := storeOf[app]; ok {
		return d.storeAnswer(store, reviewID)
	}
	return "", false
}

// storeAnswer looks a review up in a store's fake by the plugin's review id.
func (d *Demo) storeAnswer(store, reviewID string) (string, bool) {
	switch store {
	case "appstore":
		for _, app := range []string{AppIOS, AppIOSPublic} {
			if txt, ok := d.Fakes.AppStore.ReplyText(storeAppIDs[app], reviewID); ok {
				return txt, true
			}
		}
	case "googleplay":
		return d.Fakes.GooglePlay.ReplyText(storeAppIDs[AppAndroid], reviewID)
	case "rustore":
		return d.Fakes.RuStore.ReplyText(storeAppIDs[AppRuStore], reviewID)
	}
	return "", false
}
