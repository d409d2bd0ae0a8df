package bus

import "testing"

func TestUnpartitionedTopic(t *testing.T) {
	for in, want := range map[string]string{
		PartitionTopic(TopicReviews, 0): TopicReviews, PartitionTopic(TopicReviews, 7): TopicReviews,
		PartitionTopic(TopicReplyResults, 3): TopicReplyResults, "reply_results": "reply_results",
		"x_p": "x_p", "": "", "a_p1_p2": "a_p1", "x_pz": "x_pz", TopicDeadLetters: TopicDeadLetters,
	} {
		if got := unpartitioned(in); got != want {
			t.Errorf("unpartitioned(%q) = %q, want %q", in, got, want)
		}
	}
}
