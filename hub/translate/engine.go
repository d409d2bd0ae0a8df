package translate

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reviewhub/reviewhub/sdk"
)

// PluginEngine is an Engine over a translator plugin with an account's
// settings: batches are split below the plugin's MaxCharactersPerCall and
// MaxTextsPerCall.
type PluginEngine struct {
	Plugin   sdk.TranslatorPlugin
	Settings sdk.Settings
	// Info is the plugin's Info (name and capabilities).
	Info sdk.Info
}

// Name is the plugin's DisplayName (else its name).
func (e PluginEngine) Name() string {
	if e.Info.DisplayName != "" {
		return e.Info.DisplayName
	}
	return e.Info.Name
}

// Translate sends texts in as few calls as the plugin's limits allow.
func (e PluginEngine) Translate(ctx context.Context, texts []string, from, to string) ([]Text, error) {
	var maxChars, maxTexts int
	if c := e.Info.Translator; c != nil {
		maxChars, maxTexts = c.MaxCharactersPerCall, c.MaxTextsPerCall
	}
	out := make([]Text, 0, len(texts))
	for _, batch := range Batches(texts, maxChars, maxTexts) {
		res, err := e.Plugin.Translate(ctx, sdk.TranslateRequest{Settings: e.Settings, Texts: batch, From: from, To: to})
		if err != nil {
			return nil, err
		}
		for _, t := range res.Translations {
			out = append(out, Text{Text: t.Text, From: t.DetectedLanguage})
		}
	}
	return out, nil
}

// Batches splits texts, in order, into batches of at most maxChars code
// points and maxTexts texts (0: no limit). A single text over maxChars is
// a batch of its own (the plugin refuses it, and the error says why).
func Batches(texts []string, maxChars, maxTexts int) [][]string {
	var out [][]string
	var cur []string
	n := 0
	for _, t := range texts {
		size := len([]rune(t))
		if len(cur) > 0 && (maxChars > 0 && n+size > maxChars || maxTexts > 0 && len(cur) >= maxTexts) {
			out = append(out, cur)
			cur, n = nil, 0
		}
		cur = append(cur, t)
		n += size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// MemoryCache is a Cache in memory (tests; one process).
type MemoryCache struct {
	mu sync.Mutex
	m  map[Key]Text
}

func (c *MemoryCache) Get(_ context.Context, k Key) (Text, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[k]
	return t, ok, nil
}

func (c *MemoryCache) Put(_ context.Context, k Key, t Text) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[Key]Text{}
	}
	c.m[k] = t
	return nil
}

// PromMetrics are the translation metrics: reviewhub_translation_characters_total
// {engine}, reviewhub_translation_cache_hits_total{engine} and
// reviewhub_translation_failures_total{engine,reason}.
type PromMetrics struct {
	chars, hits, failures *prometheus.CounterVec
}

// NewPromMetrics registers the metrics with reg.
func NewPromMetrics(reg prometheus.Registerer) (*PromMetrics, error) {
	m := &PromMetrics{
		chars: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reviewhub_translation_characters_total",
			Help: "Characters sent to a translation engine (cache hits not counted)."}, []string{"engine"}),
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reviewhub_translation_cache_hits_total",
			Help: "Texts translated from the cache, no engine call spent."}, []string{"engine"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reviewhub_translation_failures_total",
			Help: "Failed translation calls, by reason (quota, rate_limited, unsupported_language, unavailable, failed)."}, []string{"engine", "reason"}),
	}
	for _, c := range []prometheus.Collector{m.chars, m.hits, m.failures} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *PromMetrics) Characters(engine string, n int) {
	m.chars.WithLabelValues(engine).Add(float64(n))
}
func (m *PromMetrics) CacheHit(engine string) { m.hits.WithLabelValues(engine).Inc() }
func (m *PromMetrics) Failure(engine, reason string) {
	m.failures.WithLabelValues(engine, reason).Inc()
}
