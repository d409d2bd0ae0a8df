//go:build !unix

package pluginhost

func checkPrivateDir(string) error { return nil }
