package omnidesk

import "net/url"

// parseQuery returns the "secret" query parameter of a webhook call.
func parseQuery(raw string) (string, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "", err
	}
	return q.Get("secret"), nil
}
