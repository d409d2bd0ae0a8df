package sdktest

import "testing"

// tester is what the suites need of a test: testing.TB and subtests. A
// *testing.T is one through goTest; the kit's own tests use a recorder
// that collects failures instead of failing, to check that each broken
// plugin is caught.
type tester interface {
	testing.TB
	Run(name string, f func(t tester)) bool
}

// goTest is a *testing.T as a tester.
type goTest struct{ *testing.T }

func (g goTest) Run(name string, f func(t tester)) bool {
	return g.T.Run(name, func(t *testing.T) { f(goTest{t}) })
}
