package bus

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// Topics.
const (
	TopicReviews      = "reviews"
	TopicReplies      = "replies"
	TopicReplyResults = "reply_results"
	TopicDeadLetters  = "dead_letters"
)

// Partitions of each work topic. Messages of one key (an integration) go to
// one partition, in order; partitions are consumed concurrently, so an
// integration whose helpdesk or store is slow or rate-limiting holds back
// only the integrations that share its partition. Fixed: changing it would
// strand messages queued in the old partitions.
const Partitions = 8

// TopicFor is the topic of key's partition of topic (partition 0 is the
// topic itself).
func TopicFor(topic, key string) string {
	return PartitionTopic(topic, PartitionOf(key))
}

// PartitionOf is key's partition number.
func PartitionOf(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % Partitions)
}

// PartitionTopic is the topic of partition n of topic.
func PartitionTopic(topic string, n int) string {
	if n == 0 {
		return topic
	}
	return fmt.Sprintf("%s_p%d", topic, n)
}

// BaseTopic is the work topic of a partition's topic (PartitionTopic
// undone; the topic itself for partition 0 and topics without partitions).
func BaseTopic(topic string) string {
	for _, t := range []string{TopicReviews, TopicReplies, TopicReplyResults} {
		if topic == t || strings.HasPrefix(topic, t+"_p") {
			return t
		}
	}
	return topic
}

// AllTopics are every topic and partition the bus keeps.
func AllTopics() []string {
	var out []string
	for _, t := range []string{TopicReviews, TopicReplies, TopicReplyResults} {
		for n := range Partitions {
			out = append(out, PartitionTopic(t, n))
		}
	}
	return append(out, TopicDeadLetters)
}
