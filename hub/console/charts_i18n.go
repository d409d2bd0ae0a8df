package console

// The Charts page's texts, merged into catalog (a file of their own, as
// reviews_i18n.go).
var chartsText = map[string]map[string]string{
	"en": {
		"nav_charts":           "Charts",
		"charts_title":         "Charts",
		"charts_intro":         "Reviews per day by rating, the average rating, the share answered and the time to the first answer, from the reviews and answers the hub keeps. A review counts on the store's date of its latest version, with its latest rating.",
		"charts_choose":        "Choose what the charts show",
		"charts_range":         "Period",
		"charts_days":          "%d days",
		"charts_show":          "Show",
		"charts_export":        "Download CSV",
		"charts_reviews_link":  "These reviews",
		"charts_total":         "Reviews",
		"charts_reviews":       "Reviews",
		"charts_ratings":       "Reviews per day by rating",
		"charts_ratings_desc":  "Stacked bars, 1 star at the bottom, one bar a day, %s: %d reviews in all. The table below has every day's figures.",
		"charts_average":       "Average rating",
		"charts_average_desc":  "A line of each day's average rating (1 to 5 stars), broken on days without reviews, %s: %s overall.",
		"charts_answered":      "Answered",
		"charts_answered_desc": "Bars of the share of each day's reviews whose answer is published, %s: %s overall.",
		"charts_first":         "Time to first answer",
		"charts_first_h":       "Time to first answer (hours)",
		"charts_first_desc":    "Bars of the average time from a review to its first published answer, by the review's day, %s: %s overall.",
		"charts_hours":         "hours",
		"charts_h":             "h",
		"charts_period":        "%s to %s",
		"charts_utc":           "days in UTC",
		"charts_empty":         "No figures in this period.",
		"charts_legend":        "Ratings",
		"charts_table":         "The figures as a table",
		"reviews_export":       "Download CSV",
		"nav_pill_deadletters": "waiting",
		"nav_pill_failing":     "apps failing",
		"secrets_kept":         "The secrets you typed are kept in this form (not saved yet): they are saved with it.",
		"secret_kept":          "Typed into this form, not saved yet.",
		"role_read_only":       "You can read this integration; changing it needs the admin role (yours: %s).",
	},
	"ru": {
		"nav_charts":           "Графики",
		"charts_title":         "Графики",
		"charts_intro":         "Отзывы по дням и оценкам, средняя оценка, доля отвеченных и время до первого ответа — по отзывам и ответам, которые хранит хаб. Отзыв учитывается в день последней версии по данным магазина, с последней оценкой.",
		"charts_choose":        "Что показать на графиках",
		"charts_range":         "Период",
		"charts_days":          "%d дн.",
		"charts_show":          "Показать",
		"charts_export":        "Скачать CSV",
		"charts_reviews_link":  "Эти отзывы",
		"charts_total":         "Отзывов",
		"charts_reviews":       "Отзывов",
		"charts_ratings":       "Отзывы по дням и оценкам",
		"charts_ratings_desc":  "Столбцы по дням, оценки друг над другом, 1 звезда внизу, %s: всего отзывов — %d. В таблице ниже — цифры каждого дня.",
		"charts_average":       "Средняя оценка",
		"charts_average_desc":  "Линия средней оценки каждого дня (от 1 до 5 звёзд), с разрывами в дни без отзывов, %s: в целом %s.",
		"charts_answered":      "Отвечено",
		"charts_answered_desc": "Столбцы доли отзывов дня с опубликованным ответом, %s: в целом %s.",
		"charts_first":         "Время до первого ответа",
		"charts_first_h":       "Время до первого ответа (часы)",
		"charts_first_desc":    "Столбцы среднего времени от отзыва до первого опубликованного ответа, по дню отзыва, %s: в целом %s.",
		"charts_hours":         "ч",
		"charts_h":             "ч",
		"charts_period":        "с %s по %s",
		"charts_utc":           "дни по UTC",
		"charts_empty":         "За этот период данных нет.",
		"charts_legend":        "Оценки",
		"charts_table":         "Цифры таблицей",
		"reviews_export":       "Скачать CSV",
		"nav_pill_deadletters": "ждут",
		"nav_pill_failing":     "приложений с ошибками",
		"secrets_kept":         "Введённые секреты сохранены в этой форме (ещё не записаны): они запишутся вместе с ней.",
		"secret_kept":          "Введено в эту форму, ещё не записано.",
		"role_read_only":       "Вы можете смотреть эту интеграцию; менять её может роль admin (ваша роль: %s).",
	},
}

func init() {
	for code, texts := range chartsText {
		for k, v := range texts {
			catalog[code][k] = v
		}
	}
}
