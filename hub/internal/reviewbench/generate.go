// Package reviewbench is the benchmark of the console's Reviews pages
// (`make bench-reviews`, docs/performance.md): a state with many reviews
// in several languages and scripts, written through the poller's own path
// (state.Tx.ObserveReview, page by page), and the time the console takes
// to render a filtered and searched page of them.
package reviewbench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/reviewhub/reviewhub/hub/state"
	"github.com/reviewhub/reviewhub/sdk"
)

// Shape is what Generate writes.
type Shape struct {
	Integrations int // each with Apps apps
	Apps         int
	Reviews      int // in all
	// Answered is the share of reviews with an answer (published, most).
	Answered float64
	Seed     uint64
}

// DefaultShape is the benchmark's: 1,000,000 reviews in 5 integrations of
// 4 apps, a fifth of them answered.
var DefaultShape = Shape{Integrations: 5, Apps: 4, Reviews: 1_000_000, Answered: 0.2, Seed: 25}

// Stores are the apps' store plugins, by app index.
var Stores = []string{"googleplay", "appstore", "rustore", "appgallery"}

// vocabulary per language: words joined by spaces, or (spaceless) phrases
// joined without.
type vocabulary struct {
	lang, country string
	spaceless     bool
	words         []string
}

var vocabularies = []vocabulary{
	{"en", "US", false, strings.Fields("the app crashes on start after update login works great love this new dark mode sync fails " +
		"battery drain slow screen freezes please fix notifications missing payment error support helpful easy to use " +
		"best ever terrible ads too many subscription price widget backup restore offline maps camera photos upload")},
	{"de", "DE", false, strings.Fields("die App stürzt beim Start ab nach dem Update funktioniert nicht mehr super Anmeldung " +
		"langsam Werbung zu viel bitte beheben sehr gut einfach Akku Fehler Zahlung")},
	{"ru", "RU", false, strings.Fields("приложение вылетает при запуске после обновления не работает вход отличное удобное " +
		"медленно реклама слишком много пожалуйста исправьте батарея ошибка оплаты поддержка помогла синхронизация")},
	{"ja", "JP", true, []string{"アプリが", "起動時に", "落ちる", "アップデート後", "ログインできない", "とても便利です", "日本語の",
		"入力が", "遅い", "広告が多すぎる", "直してください", "最高", "電池の消耗", "通知が来ない", "支払いエラー", "同期できない"}},
	{"zh", "CN", true, []string{"这个应用", "经常崩溃", "更新以后", "无法登录", "非常好用", "界面", "很漂亮", "速度太慢",
		"广告太多", "请修复", "耗电", "通知", "支付失败", "同步", "客服", "很有帮助"}},
	{"ko", "KR", true, []string{"앱이", "자주", "멈춰요", "업데이트 후", "로그인이", "안 돼요", "정말", "편리해요", "광고가",
		"너무 많아요", "고쳐주세요", "배터리", "알림이", "결제 오류", "동기화"}},
	{"th", "TH", true, []string{"แอปนี้", "ใช้งานง่าย", "มาก", "เด้งออก", "หลังอัปเดต", "เข้าสู่ระบบไม่ได้", "ช้า",
		"โฆษณาเยอะ", "ช่วยแก้ไข", "ด้วย", "แบตหมดเร็ว", "การแจ้งเตือน", "ชำระเงินผิดพลาด"}},
}

// authors are reviewers' names.
var authors = []string{"Kenji", "Ivan", "Anna", "Li Wei", "Somchai", "Min-jun", "Maria", "John", "Olga", "Yuki", "Hans", "Chen"}

// Generate writes s into db through the poller's path (pages of 500
// reviews of one app, each page one transaction) and returns how many
// reviews it wrote. It integrates the apps first (their store plugins
// are what the store filter uses). progress, when set, is called after
// each page.
func Generate(ctx context.Context, db *state.DB, s Shape, progress func(done int)) (int, error) {
	rng := rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))
	if err := seedIntegrations(ctx, db, s); err != nil {
		return 0, err
	}
	apps := s.Integrations * s.Apps
	perApp := s.Reviews / apps
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	const span = 2 * 365 * 24 * time.Hour
	const page = 500
	done := 0
	for ai := range apps {
		in, app := "int"+strconv.Itoa(ai/s.Apps+1), "app"+strconv.Itoa(ai%s.Apps+1)
		n := perApp
		if ai == apps-1 {
			n = s.Reviews - perApp*(apps-1)
		}
		for start := 0; start < n; start += page {
			batch := min(page, n-start)
			reviews := make([]sdk.Review, batch)
			ids := make([]string, batch)
			for i := range reviews {
				reviews[i] = review(rng, fmt.Sprintf("%s-%s-%07d", in, app, start+i), end.Add(-time.Duration(rng.Int64N(int64(span)))))
				ids[i] = reviews[i].ID
			}
			err := db.InTx(ctx, func(tx *state.Tx) error {
				if err := tx.PreloadReviews(ctx, in, app, ids); err != nil {
					return err
				}
				for _, r := range reviews {
					if _, err := tx.ObserveReview(ctx, in, app, r); err != nil {
						return err
					}
				}
				for i, r := range reviews {
					if rng.Float64() >= s.Answered {
						continue
					}
					status := state.ReplyPublished
					switch i % 10 {
					case 0:
						status = state.ReplyRefused
					case 1:
						status = state.ReplyDraft
					}
					msg := "m-" + r.ID
					rp := state.Reply{IntegrationID: in, MessageID: msg, TicketID: "t-" + r.ID, AppID: app, ReviewID: r.ID,
						Text: "Thank you for your review, " + r.Author + "!", Staff: "Anna", Status: state.ReplyPending}
					if status == state.ReplyDraft {
						rp.Status, rp.Staff, rp.Rule = state.ReplyDraft, "", "thanks"
					}
					if _, err := tx.AddReply(ctx, rp); err != nil {
						return err
					}
					if status != state.ReplyDraft {
						if err := tx.SetReplyStatus(ctx, in, msg, status, ""); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				return done, fmt.Errorf("reviewbench: page of %s/%s: %w", in, app, err)
			}
			done += batch
			if progress != nil {
				progress(done)
			}
		}
	}
	return done, nil
}

func seedIntegrations(ctx context.Context, db *state.DB, s Shape) error {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for i := 1; i <= s.Integrations; i++ {
		in := "int" + strconv.Itoa(i)
		if _, err := db.SQL().ExecContext(ctx, db.Rebind(`INSERT INTO integrations (id, name, helpdesk_plugin, created_at, updated_at)
			VALUES (?, ?, 'omnidesk', ?, ?)`), in, "Integration "+strconv.Itoa(i), now, now); err != nil {
			return fmt.Errorf("reviewbench: integration %s: %w", in, err)
		}
		for a := 1; a <= s.Apps; a++ {
			if _, err := db.SQL().ExecContext(ctx, db.Rebind(`INSERT INTO apps (integration_id, id, name, store_plugin, store_app_id)
				VALUES (?, ?, ?, ?, ?)`), in, "app"+strconv.Itoa(a), "App "+strconv.Itoa(a), Stores[(a-1)%len(Stores)], "store-"+strconv.Itoa(a)); err != nil {
				return fmt.Errorf("reviewbench: app %s/%d: %w", in, a, err)
			}
		}
	}
	return nil
}

func review(rng *rand.Rand, id string, at time.Time) sdk.Review {
	v := vocabularies[rng.IntN(len(vocabularies))]
	if rng.IntN(3) == 0 { // a third in English
		v = vocabularies[0]
	}
	text := sentence(rng, v, 6+rng.IntN(30))
	return sdk.Review{ID: id, Rating: 1 + rng.IntN(5), Title: sentence(rng, v, 1+rng.IntN(3)), Text: text,
		Author: authors[rng.IntN(len(authors))], Language: v.lang, Country: v.country, AppVersion: fmt.Sprintf("3.%d.%d", rng.IntN(12), rng.IntN(5)),
		URL: "https://store.example/review/" + id, CreatedAt: at}
}

func sentence(rng *rand.Rand, v vocabulary, words int) string {
	parts := make([]string, words)
	for i := range parts {
		parts[i] = v.words[rng.IntN(len(v.words))]
	}
	if v.spaceless {
		return strings.Join(parts, "")
	}
	return strings.Join(parts, " ")
}
