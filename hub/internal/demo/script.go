package demo

import (
	"fmt"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/sdk"
)

// App ids of the demo integration.
const (
	AppIOS       = "ios"        // App Store with an App Store Connect key
	AppIOSPublic = "ios-public" // App Store from the public feed: no replies
	AppAndroid   = "android"    // Google Play
	AppRuStore   = "rustore"    // RuStore
	AppGallery   = "appgallery" // Huawei AppGallery
)

// Step is one event of the demo's stream.
type Step struct {
	Say string
	// Review is put into the store of App (new or edited).
	App    string
	Review *sdk.Review
	// AnswerReview: a staff member answers the case of this review with Answer.
	AnswerReview string
	Answer       string
}

func review(id, author string, rating int, title, text, lang, country, version string) *sdk.Review {
	now := time.Now().UTC()
	return &sdk.Review{ID: id, Author: author, Rating: rating, Title: title, Text: text, Language: lang,
		Country: country, AppVersion: version, CreatedAt: now, UpdatedAt: now}
}

// Script is the demo's scripted stream: new reviews in several languages
// and scripts, edits that raise and lower ratings, an answer too long for
// Google Play and an answer for an app without a store account.
func Script() []Step {
	long := strings.Repeat("Thank you for the detailed feedback! ", 11) // 407 characters
	return []Step{
		{Say: "App Store: a 2-star review in English", App: AppIOS,
			Review: review("as-1001", "Ann", 2, "Crashes", "The app crashes when I open the settings screen.", "en", "US", "3.2")},
		{Say: "Google Play: a 1-star review in Japanese", App: AppAndroid,
			Review: review("gp-2001", "Kenji", 1, "", "アプリが起動しません。昨日のアップデートから毎回クラッシュします。", "ja", "", "3.2.0")},
		{Say: "RuStore: a 3-star review in Russian", App: AppRuStore,
			Review: review("rs-3001", "Иван", 3, "", "Нормально, но не хватает тёмной темы.", "ru", "", "3.2.0")},
		{Say: "App Store (public feed, no API key): a 5-star review", App: AppIOSPublic,
			Review: review("asp-4001", "Mia", 5, "Love it", "Best app for my mornings.", "en", "GB", "3.2")},
		{Say: "Google Play: a 4-star review in Thai", App: AppAndroid,
			Review: review("gp-2002", "Somchai", 4, "", "แอปดีมาก ใช้งานง่าย", "th", "", "3.2.0")},
		{Say: "Google Play: a 2-star review in German", App: AppAndroid,
			Review: review("gp-2003", "Lena", 2, "", "Zu viel Werbung, sonst gut.", "de", "", "3.1.0")},
		{Say: "Google Play: Kenji edits his review, 1 → 4 stars (same ticket)", App: AppAndroid,
			Review: review("gp-2001", "Kenji", 4, "", "アップデートで直りました。ありがとう！", "ja", "", "3.2.1")},
		{Say: "RuStore: Иван edits his review, 3 → 2 stars", App: AppRuStore,
			Review: review("rs-3001", "Иван", 2, "", "После обновления стало хуже, тёмной темы так и нет.", "ru", "", "3.2.1")},
		{Say: "App Store: a short review in Japanese", App: AppIOS,
			Review: review("as-1002", "Yuki", 5, "最高", "使いやすい", "ja", "JP", "3.2")},
		{Say: "Support answers Lena on Google Play with 407 characters: refused, the note says why",
			AnswerReview: "gp-2003", Answer: long},
		{Say: "Support answers Mia (public App Store feed): refused, no store account connected",
			AnswerReview: "asp-4001", Answer: "Thank you, Mia!"},
		{Say: "Support answers Kenji on Google Play: published in the store",
			AnswerReview: "gp-2001", Answer: "ありがとうございます！ご不便をおかけしました。"},
		{Say: "App Store: Ann edits her review, 2 → 4 stars", App: AppIOS,
			Review: review("as-1001", "Ann", 4, "Fixed", "The crash is gone after the update.", "en", "US", "3.3")},
		{Say: "Huawei AppGallery: a 3-star review in Chinese", App: AppGallery,
			Review: review("ag-5001", "小王", 3, "", "很好用，但是希望增加深色模式。", "zh", "CN", "3.3.0")},
		{Say: "Support answers 小王 on AppGallery: published in the store (one reply per review)",
			AnswerReview: "ag-5001", Answer: "谢谢！深色模式将在 3.4 版本推出。"},
	}
}

var (
	names = []string{"Alex", "Maria", "Sato", "Olga", "Chen", "Priya", "Tom", "Aiko", "Dmitri", "Nok"}
	texts = []struct{ lang, country, text string }{
		{"en", "US", "Works fine but syncing is slow."},
		{"ja", "JP", "通知が届きません。"},
		{"zh", "CN", "界面很好看，但是经常闪退。"},
		{"ko", "KR", "좋아요"},
		{"th", "TH", "ชอบมากค่ะ"},
		{"ru", "RU", "Отличное приложение, пользуюсь каждый день."},
		{"de", "DE", "Bitte einen Dunkelmodus hinzufügen."},
	}
	apps = []string{AppIOS, AppAndroid, AppRuStore, AppIOSPublic, AppGallery}
)

// Generated is the n-th review of the endless stream after the script.
func Generated(n int) Step {
	t := texts[n%len(texts)]
	app := apps[n%len(apps)]
	id := fmt.Sprintf("gen-%s-%d", app, n)
	return Step{Say: fmt.Sprintf("%s: a new review in %s", app, t.lang), App: app,
		Review: review(id, names[n%len(names)], 1+n%5, "", t.text, t.lang, t.country, "3.3")}
}
