package sdktest

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a tester that records failures instead of failing: the kit's
// own tests run the suites against broken plugins with it. Fatal and Skip
// end the subtest (as runtime.Goexit does for a *testing.T); Cleanup,
// Context and the rest are the real test's.
type recorder struct {
	testing.TB
	name     string
	findings *[]string // "subtest: message", shared by the whole run
	skips    *[]string // the same for Skip's messages
	failed   bool
}

func newRecorder(t *testing.T) *recorder {
	return &recorder{TB: t, findings: new([]string), skips: new([]string)}
}

// stopped is the panic that ends a recorded subtest at Fatal or Skip.
type stopped struct{}

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return r.name }
func (r *recorder) Failed() bool { return r.failed }
func (r *recorder) Fail()        { r.failed = true }
func (r *recorder) FailNow()     { r.failed = true; panic(stopped{}) }
func (r *recorder) SkipNow()     { panic(stopped{}) }
func (r *recorder) Log(...any)   {}

func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Skip(args ...any)    { r.skip(fmt.Sprint(args...)) }
func (r *recorder) Skipf(format string, args ...any) {
	r.skip(fmt.Sprintf(format, args...))
}

func (r *recorder) skip(msg string) {
	*r.skips = append(*r.skips, strings.TrimPrefix(r.name, "/")+": "+msg)
	r.SkipNow()
}
func (r *recorder) Error(args ...any)                 { r.record(fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, args ...any) { r.record(fmt.Sprintf(format, args...)) }
func (r *recorder) Fatal(args ...any)                 { r.record(fmt.Sprint(args...)); r.FailNow() }
func (r *recorder) Fatalf(format string, args ...any) {
	r.record(fmt.Sprintf(format, args...))
	r.FailNow()
}

func (r *recorder) record(msg string) {
	r.failed = true
	*r.findings = append(*r.findings, strings.TrimPrefix(r.name, "/")+": "+msg)
}

func (r *recorder) Run(name string, f func(t tester)) bool {
	c := &recorder{TB: r.TB, name: r.name + "/" + name, findings: r.findings, skips: r.skips}
	func() {
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(stopped); !ok {
					panic(v)
				}
			}
		}()
		f(c)
	}()
	if c.failed {
		r.failed = true
	}
	return !c.failed
}

func TestRecorderRecordsAndStops(t *testing.T) {
	rec := newRecorder(t)
	reached := false
	rec.Run("a", func(t tester) {
		t.Errorf("one %d", 1)
		t.Fatalf("two")
		reached = true
	})
	rec.Run("b", func(t tester) { t.Skip("nothing to do") })
	if reached || !rec.Failed() || strings.Join(*rec.findings, "|") != "a: one 1|a: two" {
		t.Fatalf("findings %q, failed %v, ran past Fatal %v", *rec.findings, rec.Failed(), reached)
	}
}
