package config

import (
	"errors"
	"strings"
	"testing"
)

func TestNotifyDestinationsLoadWithTheirSecrets(t *testing.T) {
	t.Setenv("REVIEWHUB_TEST_SLACK_TOKEN", "xoxb-secret")
	cfg, err := Load(write(t, `notify:
  destinations:
    - name: support-slack
      plugin: slack
      settings: {token: '${REVIEWHUB_TEST_SLACK_TOKEN}', channel: C123}
      max_per_hour: 10
      quiet_hours: "22:00-07:00"
      time_zone: Europe/Berlin
      urgent: [reply.failed]
      events: [review.created, review.updated, reply.published]
      when: {ratings: [1, 2], languages: [EN], keywords: [crash]}
`))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Notify.Destinations
	if len(d) != 1 || d[0].Settings["token"] != "xoxb-secret" || d[0].MaxPerHour != 10 || len(d[0].When.Ratings) != 2 {
		t.Errorf("destinations: %+v", d)
	}
}

func TestNotifyDestinationErrorsNameTheField(t *testing.T) {
	_, err := Load(write(t, `notify:
  destinations:
    - {name: a, plugin: slack, max_per_hour: -1, quiet_hours: "25:00-07:00", events: [review.nope], when: {ratings: [6]}}
    - {name: a, plugin: "../x", time_zone: Mars/Base, settings: {token: '${REVIEWHUB_TEST_UNSET_NOTIFY}'}}
`))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want Errors, got %v", err)
	}
	for _, want := range []string{"notify.destinations[0].max_per_hour", "notify.destinations[0].quiet_hours",
		"notify.destinations[0].events[0]", "notify.destinations[0].when.ratings[0]", "notify.destinations[1].name",
		"notify.destinations[1].plugin", "notify.destinations[1].time_zone", "notify.destinations[1].settings.token"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no error for %s in %v", want, err)
		}
	}
}
