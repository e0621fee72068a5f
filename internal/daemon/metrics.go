package daemon

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newRegistry is the daemon's one Prometheus registry, not client_golang's global default: each
// daemon (tests start many in one process) has its own. It holds the Go runtime and process
// collectors; the store and the transport register their own instruments in it (store.Options and
// rpc.Options take it as a prometheus.Registerer).
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// registerer is the registry as the store and the transport take it: nil (no instruments) with
// Config.NoMetrics. A nil *Registry in the interface would not be nil.
func (d *Daemon) registerer() prometheus.Registerer {
	if d.metrics == nil {
		return nil
	}
	return d.metrics
}

// metricsHandler serves the registry in Prometheus's text or OpenMetrics format (404 with
// Config.NoMetrics). It holds counts, durations and sizes only: no label carries a token, a name or
// anything a participant wrote.
func (d *Daemon) metricsHandler() http.Handler {
	if d.metrics == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(d.metrics, promhttp.HandlerOpts{
		ErrorLog:          promLogger{d},
		EnableOpenMetrics: true,
	})
}

// promLogger logs the handler's errors (a collector that failed) as warnings.
type promLogger struct{ d *Daemon }

func (l promLogger) Println(v ...any) { l.d.log.Warn("metrics", "err", v) }
