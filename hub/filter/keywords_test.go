package filter

import "testing"

func TestKeywordMatching(t *testing.T) {
	for _, tc := range []struct {
		keyword, text string
		want          bool
	}{
		{"refund", "I want a REFUND now", true},
		{"refund", "Refund!", true},
		{"refund", "refunded", false},
		{"refund*", "I was refunded", true},
		{"app", "happy with it", false},
		{"crash app", "Crash, app! again", true},
		{"crash app", "crash the app", false},
		{"возврат*", "Требую возврата денег", true},
		{"возврат", "Требую возврата денег", false},
		{"Straße", "die STRASSE ist gut", true},
		{"退款", "我要退款！", true},
		{"退款", "我要退货", false},
		{"返金", "返金してください", true},
		{"คืนเงิน", "ขอคืนเงินด้วยครับ", true},
		{"คืนเงิน", "แอปดีมาก", false},
		{"refund", "我要refund谢谢", true},
		{"환불", "환불 해주세요", true},
		{"5", "5 stars", true},
	} {
		k, err := ParseKeyword(tc.keyword)
		if err != nil {
			t.Fatalf("%q: %v", tc.keyword, err)
		}
		if got := k.In(PrepareText(tc.text)); got != tc.want {
			t.Errorf("%q in %q = %v, want %v", tc.keyword, tc.text, got, tc.want)
		}
	}
}

func TestKeywordRejects(t *testing.T) {
	for _, s := range []string{"", "  ", "*", "!!!", "退款*"} {
		if _, err := ParseKeyword(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
