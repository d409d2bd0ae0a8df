package console

// The history page's texts, merged into catalog.
var historyText = map[string]map[string]string{
	"en": {
		"history_title":             "History of %s",
		"history_link":              "Import history",
		"history_intro":             "Import the reviews the store still holds for a past range: they go through the app's filters and rules like new ones, and nothing already delivered is delivered again. An import that stopped resumes where it was.",
		"history_new":               "New import",
		"history_from":              "From (day, UTC)",
		"history_to":                "To (day, UTC, not included)",
		"history_start":             "Start import",
		"history_imports":           "Imports",
		"history_none":              "No import of this app yet.",
		"history_range":             "Range",
		"history_state":             "State",
		"history_progress":          "Progress",
		"history_imported":          "Imported",
		"history_queued":            "Queued",
		"history_skipped":           "Skipped",
		"history_bad":               "Bad rows",
		"history_days":              "Days covered",
		"history_updated":           "Updated",
		"history_resume":            "Resume",
		"history_state_running":     "running",
		"history_state_finished":    "finished",
		"history_state_stopped":     "stopped",
		"history_state_interrupted": "interrupted",
		"history_covered":           "%s to %s (%d days)",
		"history_started":           "The import from %s to %s is started; this page updates while it runs.",
	},
	"ru": {
		"history_title":             "История: %s",
		"history_link":              "Импорт истории",
		"history_intro":             "Импорт отзывов, которые магазин ещё хранит за прошлый период: они проходят фильтры и правила приложения как новые, уже доставленное не доставляется повторно. Остановленный импорт продолжается с того места, где прервался.",
		"history_new":               "Новый импорт",
		"history_from":              "С (день, UTC)",
		"history_to":                "По (день, UTC, не включая)",
		"history_start":             "Начать импорт",
		"history_imports":           "Импорты",
		"history_none":              "Импортов для этого приложения ещё не было.",
		"history_range":             "Период",
		"history_state":             "Состояние",
		"history_progress":          "Ход",
		"history_imported":          "Импортировано",
		"history_queued":            "В очереди",
		"history_skipped":           "Пропущено",
		"history_bad":               "Нечитаемые строки",
		"history_days":              "Охвачено дней",
		"history_updated":           "Обновлено",
		"history_resume":            "Продолжить",
		"history_state_running":     "идёт",
		"history_state_finished":    "завершён",
		"history_state_stopped":     "остановлен",
		"history_state_interrupted": "прерван",
		"history_covered":           "с %s по %s (дней: %d)",
		"history_started":           "Импорт с %s по %s начат; страница обновляется, пока он идёт.",
	},
}

func init() {
	for code, texts := range historyText {
		for k, v := range texts {
			catalog[code][k] = v
		}
	}
}
