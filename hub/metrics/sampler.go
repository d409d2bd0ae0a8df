package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Emit reports one sample read at scrape time: name (without the
// namespace), help, whether it is a counter, its value and its labels as
// name, value pairs.
type Emit func(name, help string, counter bool, v float64, labels ...string)

// Sampler is a collector of values read at scrape time (from the state,
// the bus, the plugin host). Its samples are kept for MinInterval, so
// frequent scrapes (several Prometheus servers) do not each read the
// database.
type Sampler struct {
	// Read emits the samples; it runs with a deadline.
	Read func(ctx context.Context, emit Emit) error
	// MinInterval between two reads (default 10s; tests set it lower).
	MinInterval time.Duration
	Logger      *slog.Logger

	mu   sync.Mutex
	at   time.Time
	last []prometheus.Metric
}

// Describe sends nothing: the sampler is an unchecked collector (its
// series depend on the state).
func (s *Sampler) Describe(chan<- *prometheus.Desc) {}

// Collect reads the samples (or reuses recent ones).
func (s *Sampler) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	every := s.MinInterval
	if every <= 0 {
		every = 10 * time.Second
	}
	if s.last == nil || time.Since(s.at) >= every {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		var out []prometheus.Metric
		var bad []error // samples that do not fit their description
		descs := map[string]*prometheus.Desc{}
		err := s.Read(ctx, func(name, help string, counter bool, v float64, labels ...string) {
			var keys, values []string
			for i := 0; i+1 < len(labels); i += 2 {
				keys, values = append(keys, labels[i]), append(values, labels[i+1])
			}
			id := name + "\x00" + strings.Join(keys, ",")
			d, ok := descs[id]
			if !ok {
				d = prometheus.NewDesc(Namespace+"_"+name, help, keys, nil)
				descs[id] = d
			}
			t := prometheus.GaugeValue
			if counter {
				t = prometheus.CounterValue
			}
			m, err := prometheus.NewConstMetric(d, t, v, values...)
			if err != nil {
				bad = append(bad, fmt.Errorf("%s: %w", name, err))
				return
			}
			out = append(out, m)
		})
		if err = errors.Join(append(bad, err)...); err != nil && s.Logger != nil {
			s.Logger.Warn("metrics: reading the state's figures failed", "error", err)
		}
		s.last, s.at = out, time.Now()
	}
	for _, m := range s.last {
		ch <- m
	}
}
