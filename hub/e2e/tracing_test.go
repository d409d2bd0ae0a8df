package e2e

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/reviewhub/reviewhub/hub/e2e/testbackend"
)

// receivedSpan is one span an OTLP receiver got, with its service.
type receivedSpan struct {
	service, name, trace, id, parent string
	kind                             tracepb.Span_SpanKind
	attrs                            map[string]string
}

// otlpReceiver is a tiny OTLP/HTTP trace receiver: POST /v1/traces with a
// protobuf ExportTraceServiceRequest, as the hub's and the plugins'
// exporters send.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []receivedSpan
	bad   []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req collectortrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
		o.bad = append(o.bad, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		http.Error(w, "not an OTLP/HTTP trace export", http.StatusBadRequest)
		return
	}
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				attrs := map[string]string{}
				for _, a := range s.GetAttributes() {
					attrs[a.GetKey()] = a.GetValue().GetStringValue()
				}
				o.spans = append(o.spans, receivedSpan{service: service, name: s.GetName(), kind: s.GetKind(),
					trace: hex.EncodeToString(s.GetTraceId()), id: hex.EncodeToString(s.GetSpanId()),
					parent: hex.EncodeToString(s.GetParentSpanId()), attrs: attrs})
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

func (o *otlpReceiver) received() []receivedSpan {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]receivedSpan(nil), o.spans...)
}

// One review's trip is one trace with spans from the hub and from both
// plugin processes (by service.name), the plugin calls' server spans
// children of the hub's client spans, and the plugins' vendor requests.
func TestReviewTripIsOneTraceAcrossProcesses(t *testing.T) {
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	t.Cleanup(collector.Close)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100") // milliseconds: the plugins export while they run
	t.Setenv("OTEL_SERVICE_NAME", "")
	e := start(t)
	e.backend.PutReview(testbackend.Review{ID: "r1", App: "app1", Author: "Ann", Rating: 2, Text: "Crashes on start"})
	eventually(t, "the ticket", func() bool { _, ok := ticketFor(e.backend, "r1"); return ok })
	e.stopHub() // every process flushes its spans as it stops

	const hub, store, desk = "reviewhub", "reviewhub-plugin-teststore", "reviewhub-plugin-testdesk"
	var upsert receivedSpan
	eventually(t, "the helpdesk plugin's UpsertTicket span", func() bool {
		for _, s := range recv.received() {
			if s.service == desk && s.kind == tracepb.Span_SPAN_KIND_SERVER && strings.HasSuffix(s.name, "/UpsertTicket") {
				upsert = s
				return true
			}
		}
		return false
	})
	var trip []receivedSpan
	byID := map[string]receivedSpan{}
	for _, s := range recv.received() {
		if s.trace == upsert.trace {
			trip = append(trip, s)
			byID[s.id] = s
		}
	}
	has := func(service, name string, kind tracepb.Span_SpanKind) (receivedSpan, bool) {
		for _, s := range trip {
			if s.service == service && strings.HasSuffix(s.name, name) && s.kind == kind {
				return s, true
			}
		}
		return receivedSpan{}, false
	}
	var names []string
	for _, s := range trip {
		names = append(names, s.service+": "+s.name)
	}
	sort.Strings(names)
	t.Logf("the review's trace %s:\n%s", upsert.trace, strings.Join(names, "\n"))

	want := []struct {
		service, name string
		kind          tracepb.Span_SpanKind
	}{
		{hub, "poll app", tracepb.Span_SPAN_KIND_INTERNAL},
		{hub, "list page", tracepb.Span_SPAN_KIND_INTERNAL},
		{hub, "Store/ListReviews", tracepb.Span_SPAN_KIND_CLIENT},
		{store, "Store/ListReviews", tracepb.Span_SPAN_KIND_SERVER},
		{store, "GET", tracepb.Span_SPAN_KIND_CLIENT}, // the store's vendor request
		{hub, "handle reviews", tracepb.Span_SPAN_KIND_CONSUMER},
		{hub, "Helpdesk/UpsertTicket", tracepb.Span_SPAN_KIND_CLIENT},
		{desk, "Helpdesk/UpsertTicket", tracepb.Span_SPAN_KIND_SERVER},
	}
	for _, w := range want {
		if _, ok := has(w.service, w.name, w.kind); !ok {
			t.Errorf("the trace lacks %s's %s span (%v)", w.service, w.name, w.kind)
		}
	}
	// The plugins' server spans are children of the hub's client spans.
	for _, s := range trip {
		if s.kind != tracepb.Span_SPAN_KIND_SERVER {
			continue
		}
		if p, ok := byID[s.parent]; !ok || p.service != hub || p.kind != tracepb.Span_SPAN_KIND_CLIENT || p.name != s.name {
			t.Errorf("%s's %s span has parent %+v, want the hub's client span", s.service, s.name, p)
		}
	}
	// The helpdesk's vendor requests (find and create the ticket) are
	// children of its UpsertTicket span.
	vendor := 0
	for _, s := range trip {
		if s.service == desk && s.kind == tracepb.Span_SPAN_KIND_CLIENT && s.parent == upsert.id {
			vendor++
			if s.attrs["http.request.method"] == "" || !strings.HasPrefix(s.attrs["url.full"], e.srv.URL) {
				t.Errorf("vendor span %s: %v", s.name, s.attrs)
			}
		}
	}
	if vendor == 0 {
		t.Error("the helpdesk plugin's vendor requests made no span")
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.bad) > 0 {
		t.Errorf("requests that were not OTLP/HTTP exports: %v", recv.bad)
	}
}
