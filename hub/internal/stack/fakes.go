package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	agfake "github.com/reviewhub/reviewhub/plugins/appgallery/fake"
	asfake "github.com/reviewhub/reviewhub/plugins/appstore/fake"
	gpfake "github.com/reviewhub/reviewhub/plugins/googleplay/fake"
	odfake "github.com/reviewhub/reviewhub/plugins/omnidesk/fake"
	rsfake "github.com/reviewhub/reviewhub/plugins/rustore/fake"
	zdfake "github.com/reviewhub/reviewhub/plugins/zendesk/fake"
	"github.com/reviewhub/reviewhub/sdk"
)

// Fakes are the project's fake vendor APIs, each on its own loopback port.
type Fakes struct {
	AppStore   *asfake.Server
	GooglePlay *gpfake.Server
	RuStore    *rsfake.Server
	AppGallery *agfake.Server
	Omnidesk   *odfake.Server
	Zendesk    *zdfake.Server
	// URL of each fake by plugin name.
	URL     map[string]string
	servers []*http.Server

	mu    sync.Mutex
	first map[string]*time.Time // per fake: the first request since ArmFirstRequest
}

// ArmFirstRequest starts watching for the next request to the named fake;
// FirstRequest then tells when it arrived. The benchmark times the hub from
// its first listing after the seeding, as the baseline is timed from its own.
func (f *Fakes) ArmFirstRequest(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.first[name] = new(time.Time)
}

// FirstRequest is when the first request since ArmFirstRequest(name)
// arrived (false: none yet, or not armed).
func (f *Fakes) FirstRequest(name string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.first[name]
	if t == nil || t.IsZero() {
		return time.Time{}, false
	}
	return *t, true
}

func (f *Fakes) watch(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		if t := f.first[name]; t != nil && t.IsZero() {
			*t = time.Now()
		}
		f.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// Omnidesk account of the fakes.
const (
	OmnideskSubdomain = "demo"
	OmnideskStaff     = "admin@demo.example"
	OmnideskAPIKey    = "demo-api-key"
)

// Zendesk account of the fakes: the agent the API token acts as.
const (
	ZendeskSubdomain = "demo"
	ZendeskEmail     = "agent@demo.example"
	ZendeskToken     = "demo-api-token"
)

// StartFakes starts the fakes (four stores, two helpdesks) on 127.0.0.1,
// on the given ports by plugin name (0: any).
func StartFakes(ports map[string]int) (*Fakes, error) {
	f := &Fakes{
		AppStore:   asfake.New(),
		GooglePlay: gpfake.New(),
		RuStore:    rsfake.New(),
		AppGallery: agfake.New(),
		Omnidesk:   odfake.New(odfake.Options{Subdomain: OmnideskSubdomain, StaffEmail: OmnideskStaff, APIKey: OmnideskAPIKey}),
		Zendesk:    zdfake.New(zdfake.Options{Subdomain: ZendeskSubdomain, Email: ZendeskEmail, Token: ZendeskToken}),
		URL:        map[string]string{},
		first:      map[string]*time.Time{},
	}
	for name, h := range map[string]http.Handler{"appstore": f.AppStore, "googleplay": f.GooglePlay, "rustore": f.RuStore,
		"appgallery": f.AppGallery, "omnidesk": f.Omnidesk, "zendesk": f.Zendesk} {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", ports[name]))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("fake %s: %w", name, err)
		}
		srv := &http.Server{Handler: f.watch(name, h), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintf(os.Stderr, "fake %s stopped: %v\n", name, err)
			}
		}()
		f.servers = append(f.servers, srv)
		f.URL[name] = "http://" + ln.Addr().String()
	}
	return f, nil
}

// HelpdeskSettings are working plugin settings for the fake helpdesk named
// (omnidesk or zendesk) with the webhook secret given.
func (f *Fakes) HelpdeskSettings(name, webhookSecret string) (sdk.Settings, error) {
	switch name {
	case "omnidesk":
		return f.Omnidesk.Settings(f.URL[name], webhookSecret), nil
	case "zendesk":
		return f.Zendesk.Settings(f.URL[name], webhookSecret), nil
	}
	return nil, fmt.Errorf("no fake helpdesk %q (omnidesk or zendesk)", name)
}

// Close stops the fakes.
func (f *Fakes) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range f.servers {
		_ = s.Shutdown(ctx)
	}
}
