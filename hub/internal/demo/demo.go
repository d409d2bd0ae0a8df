// Package demo runs Reviewhub with the project's fake App Store, Google
// Play, RuStore, Huawei AppGallery and a fake helpdesk (Omnidesk or Zendesk) on loopback,
// feeds them a stream of reviews and serves a small page to watch tickets
// and answer them (`make demo`).
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	// Plugins maps plugin names to binaries (the four stores' and the
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
	// Played, when set, is called after each step of the stream with its
	// error (nil: the step succeeded).
	Played func(Step, error)
	// Script replaces the scripted stream (nil: Script()).
	Script []Step
	// PollInterval of the apps (default 2s).
	PollInterval time.Duration
	// Wait bounds how long an answer step waits for its review to reach
	// the helpdesk (default 2 minutes).
	Wait time.Duration
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
	wait   time.Duration
	mu     sync.Mutex
	// review id → app id, for finding a review's store and its answer.
	reviewApp map[string]string
	// review id → the text last put, which its ticket shows once the hub
	// has brought that version in.
	lastText map[string]string
}

// WebhookSecret of the demo integration.
const WebhookSecret = "demo-webhook-secret"

// AdminToken of the demo hub (loopback only): the admin API and the web
// console sign in with it.
const AdminToken = "demo-admin-token-on-loopback"

// Store app ids in the fakes.
var storeAppIDs = map[string]string{
	AppIOS: "1000000001", AppIOSPublic: "1000000002", AppAndroid: "com.example.reviewhub", AppRuStore: "ru.example.reviewhub",
	AppGallery: "107654321",
}

// Run starts everything, plays the script (and the endless stream if
// asked) until ctx ends, then stops the hub gracefully. It returns an
// error, without playing anything, when the hub cannot start (its address
// taken, say), and as soon as the hub exits on its own.
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
	closeUI, err := d.serveUI(o.UIAddr)
	if err != nil {
		return err
	}
	defer closeUI()
	cfgPath, err := d.Config.Write()
	if err != nil {
		return err
	}
	d.Hub, err = stack.StartHub(ctx, o.HubBin, cfgPath, d.Config.Listen, o.HubLog)
	if err != nil {
		return fmt.Errorf("the hub did not start: %w", err)
	}
	hubDone := make(chan struct{})
	defer func() {
		close(hubDone)
		select {
		case <-d.Hub.Exited(): // Ctrl-C reached it too, or it failed (told below)
			d.say("the hub stopped")
			return
		default:
		}
		d.say("stopping the hub (SIGTERM)")
		if err := d.Hub.Stop(); err != nil {
			d.say("hub stop: %v", err)
		}
	}()
	// The stream stops when the hub exits on its own: with an error, it is
	// Run's; a clean exit is a signal's (Ctrl-C reaches the hub too).
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-d.Hub.Exited():
			if err := d.Hub.Err(); err != nil {
				cancel(fmt.Errorf("the hub stopped: %w", err))
			} else {
				cancel(nil)
			}
		case <-hubDone:
		}
	}()
	setup, err := d.setupLines()
	if err != nil {
		return err
	}
	d.banner(setup)
	if o.Ready != nil {
		o.Ready(d)
	}
	d.play(ctx, o)
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
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
	if o.Wait <= 0 {
		o.Wait = 2 * time.Minute
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
	fakes.AppGallery.AddApp(storeAppIDs[AppGallery])
	if o.HubAddr == "" {
		if o.HubAddr, err = stack.FreeAddr(); err != nil {
			return nil, err
		}
	}
	d := &Demo{Fakes: fakes, secret: WebhookSecret, desk: dk, out: o.Out, wait: o.Wait,
		reviewApp: map[string]string{}, lastText: map[string]string{}}
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
			{ID: AppGallery, Name: "Demo for HarmonyOS", Store: "appgallery", StoreAppID: storeAppIDs[AppGallery],
				Settings: appGallerySettings(fakes)},
		},
	}
	dk.connect(d.Config.WebhookURL(), WebhookSecret)
	return d, nil
}

// appGallerySettings are the fake AppGallery's settings, listing the
// countries of every review the demo writes (AppGallery lists reviews by
// country).
func appGallerySettings(fakes *stack.Fakes) map[string]string {
	s := fakes.AppGallery.Settings(fakes.URL["appgallery"])
	s["countries"] = "CN,US,GB,JP,KR,TH,RU,DE"
	return s
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
		err := d.Play(ctx, st)
		if err != nil && ctx.Err() == nil {
			d.say("step failed: %v", err)
		}
		if o.Played != nil && ctx.Err() == nil {
			o.Played(st, err)
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

func (d *Demo) banner(setup []string) {
	d.say(`Reviewhub demo is running.

  Watch and answer tickets:  %s
  Hub:                       http://%s  (health: /healthz)
  Web console:               http://%s/console/  (admin token: %s)
  Prometheus metrics:        http://%s/metrics  (docs/operations.md)
  %-27s%s
  Fake App Store Connect:    %s
  Fake Google Play:          %s
  Fake RuStore:              %s
  Fake Huawei AppGallery:    %s
  Hub data and log:          %s  (emptied at every start: what you make in the console is lost when the demo restarts)

To make a second integration on these fakes in the console, use these settings (long values are in files):
  %s
The fake %s sends staff answers to the demo integration's webhook only (/hooks/%s/%s).

Reviews arrive every few seconds; the hub polls each app as often as the store's quota allows. Answer a %s on the page:
the answer goes through the %s webhook to the hub and is published in the fake store.
Ctrl-C stops everything.`,
		d.UIURL, d.Config.Listen, d.Config.Listen, AdminToken, d.Config.Listen, "Fake "+d.desk.title()+" API:", d.desk.api(),
		d.Fakes.URL["appstore"], d.Fakes.URL["googleplay"], d.Fakes.URL["rustore"], d.Fakes.URL["appgallery"], d.Config.DataDir,
		strings.Join(setup, "\n  "), d.desk.title(), d.Config.Helpdesk, d.Config.Integration,
		d.desk.noun(), d.desk.title())
}

// setupLines are the settings of the demo's helpdesk and apps, one line
// each, for an operator making an integration of their own on the fakes;
// a value too long for a line (a private key, a service-account key) is
// written into a file under DataDir/credentials and named by its path.
func (d *Demo) setupLines() ([]string, error) {
	dir := filepath.Join(d.Config.DataDir, "credentials")
	line := func(label, prefix string, settings map[string]string) (string, error) {
		parts := []string{}
		if prefix != "" {
			parts = append(parts, prefix)
		}
		for _, k := range slices.Sorted(maps.Keys(settings)) {
			v := settings[k]
			if strings.Contains(v, "\n") || len(v) > 80 {
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return "", fmt.Errorf("demo credentials: %w", err)
				}
				path := filepath.Join(dir, label+"-"+k)
				if err := os.WriteFile(path, []byte(v), 0o600); err != nil {
					return "", fmt.Errorf("demo credentials: %w", err)
				}
				v = "in " + path
			}
			parts = append(parts, k+" "+v)
		}
		return fmt.Sprintf("%-27s%s", label+":", strings.Join(parts, " · ")), nil
	}
	l, err := line(d.Config.Helpdesk, "", d.Config.HelpdeskSetup)
	if err != nil {
		return nil, err
	}
	out := []string{l}
	for _, a := range d.Config.Apps {
		l, err := line(a.ID, fmt.Sprintf("app %q · store %s · store app id %s", a.Name, a.Store, a.StoreAppID), a.Settings)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// Play performs one step.
func (d *Demo) Play(ctx context.Context, st Step) error {
	d.say("%s", st.Say)
	if st.Review != nil {
		d.Put(st.App, *st.Review)
	}
	if st.AnswerReview != "" {
		t, err := d.awaitTicket(ctx, st.AnswerReview)
		if err != nil {
			return err
		}
		if err := d.desk.answer(ctx, t.ID, st.Answer); err != nil {
			return fmt.Errorf("answer %s %s: %w", d.desk.noun(), t.ID, err)
		}
	}
	return nil
}

// awaitTicket waits (d.wait at the most) until the ticket of a review the
// script put shows the review as last put: the hub polls each store no
// faster than its quota allows (Google Play: 200 reads an hour per app, so
// every 18 s), and staff answer what they see.
func (d *Demo) awaitTicket(ctx context.Context, reviewID string) (Ticket, error) {
	d.mu.Lock()
	want := d.lastText[reviewID]
	d.mu.Unlock()
	shows := func() (Ticket, bool) {
		t, ok := d.TicketOf(reviewID)
		if !ok {
			return t, false
		}
		for _, m := range t.Messages {
			if m.Staff == "" && strings.Contains(m.Content, want) {
				return t, true
			}
		}
		return t, false
	}
	if t, ok := shows(); ok {
		return t, nil
	}
	d.say("waiting for review %s to reach the %s: the hub polls each store no faster than its quota allows (the console's status page says when it polls next)",
		reviewID, d.desk.noun())
	deadline := time.NewTimer(d.wait)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return Ticket{}, context.Cause(ctx)
		case <-deadline.C:
			if _, ok := d.TicketOf(reviewID); ok {
				return Ticket{}, fmt.Errorf("the %s of review %s does not show its last version after %s", d.desk.noun(), reviewID, d.wait)
			}
			return Ticket{}, fmt.Errorf("no %s for review %s after %s", d.desk.noun(), reviewID, d.wait)
		case <-tick.C:
			if t, ok := shows(); ok {
				return t, nil
			}
		}
	}
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
	d.lastText[r.ID] = r.Text
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
	case AppGallery:
		d.Fakes.AppGallery.PutReview(id, r)
	}
}

// storeOf is the store of each app of the demo.
var storeOf = map[string]string{AppIOS: "appstore", AppIOSPublic: "appstore", AppAndroid: "googleplay", AppRuStore: "rustore", AppGallery: "appgallery"}

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
	case "appgallery":
		return d.Fakes.AppGallery.ReplyText(storeAppIDs[AppGallery], reviewID)
	}
	return "", false
}
