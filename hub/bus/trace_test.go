package bus

import "testing"

func TestUnpartitionedTopic(t *testing.T) {
	for in, want := range map[string]string{
		PartitionTopic(TopicReviews, 0): TopicReviews, PartitionTopic(TopicReviews, 7): TopicReviews,
		PartitionTopic(TopicReplyResults, 3): TopicReplyResults, "reply_results": "reply_results",
		"x_p1": "x_p1", "": "", TopicDeadLetters: TopicDeadLetters,
	} {
		if got := BaseTopic(in); got != want {
			t.Errorf("BaseTopic(%q) = %q, want %q", in, got, want)
		}
	}
}
