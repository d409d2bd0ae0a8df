package console

// The dead letters page's texts, merged into catalog.
var deadLettersText = map[string]map[string]string{
	"en": {
		"dl_kind_col":           "What failed",
		"dl_kind_reviews":       "A review on its way to the helpdesk",
		"dl_kind_replies":       "An answer on its way to the store",
		"dl_kind_reply_results": "An answer's outcome on its way to the ticket",
		"dl_integration":        "Integration %s",
		"dl_no_integration":     "Messages of no integration",
		"dl_retry_all":          "Retry all %d",
		"dl_drop_all":           "Drop all %d…",
		"dl_drop_ask":           "Drop…",
		"retried_all":           "%s dead letters of %s are queued again.",
		"dropped_all":           "%s dead letters of %s are dropped.",
		"dl_confirm_title":      "Drop dead letters?",
		"dl_confirm_intro":      "Dropping gives these up for good: a review is not delivered to the helpdesk, an answer is not published. Retry instead once the cause is fixed. This cannot be undone.",
		"dl_confirm_drop":       "Drop %d for good",
		"dl_confirm_cancel":     "Keep them",
		"dl_none_to_drop":       "There is no such dead letter (any more).",
		"ago_now":               "just now",
		"ago_minutes":           "%d min ago",
		"ago_hours":             "%d h ago",
		"ago_days":              "%d days ago",
	},
	"ru": {
		"dl_kind_col":           "Что не прошло",
		"dl_kind_reviews":       "Отзыв на пути в хелпдеск",
		"dl_kind_replies":       "Ответ на пути в магазин",
		"dl_kind_reply_results": "Итог ответа на пути в обращение",
		"dl_integration":        "Интеграция %s",
		"dl_no_integration":     "Сообщения без интеграции",
		"dl_retry_all":          "Повторить все (%d)",
		"dl_drop_all":           "Удалить все (%d)…",
		"dl_drop_ask":           "Удалить…",
		"retried_all":           "Сообщения интеграции (%[1]s шт.) снова в очереди: %[2]s.",
		"dropped_all":           "Сообщения интеграции (%[1]s шт.) удалены: %[2]s.",
		"dl_confirm_title":      "Удалить недоставленные сообщения?",
		"dl_confirm_intro":      "Удаление отменяет их навсегда: отзыв не попадёт в хелпдеск, ответ не будет опубликован. Лучше устранить причину и повторить. Отменить удаление нельзя.",
		"dl_confirm_drop":       "Удалить навсегда (%d)",
		"dl_confirm_cancel":     "Оставить",
		"dl_none_to_drop":       "Такого недоставленного сообщения нет (уже нет).",
		"ago_now":               "только что",
		"ago_minutes":           "%d мин назад",
		"ago_hours":             "%d ч назад",
		"ago_days":              "%d дн. назад",
	},
}

func init() {
	for code, texts := range deadLettersText {
		for k, v := range texts {
			catalog[code][k] = v
		}
	}
}
