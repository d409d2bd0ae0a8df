package console

// signinText are the texts of sign-in and sessions (admin token, OIDC),
// merged into catalog.
var signinText = map[string]map[string]string{
	"en": {
		"signin_intro_oidc":    "Sign in with your company account.",
		"signin_intro_token":   "Or sign in with the hub's admin token (admin_token in the config, or HUB_ADMIN_TOKEN).",
		"sign_in_with":         "Sign in with %s",
		"sign_out_everywhere":  "Sign out everywhere",
		"signed_in_as":         "Signed in as",
		"oidc_too_many":        "Too many sign-ins started from here in the last minute. Wait a minute and try again.",
		"sessions_unavailable": "Sessions cannot be read or stored right now (the hub's state database is unavailable). Try again in a minute.",
		"oidc_unknown":         "There is no such sign-in method.",
		"oidc_unreachable":     "%s cannot be reached right now. Try again in a minute; if it lasts, the hub's log says why.",
		"oidc_refused":         "%s did not sign you in (%s). Try again; if it lasts, ask your administrator.",
		"oidc_token":           "The answer from %s was not accepted (%s). Try again; if it lasts, ask your administrator.",
		"oidc_state":           "This sign-in does not belong to this browser, was already used or took too long. Start again with the button below.",
		"oidc_failed":          "Signing in with %s failed. Try again; if it lasts, the hub's log says why.",
		"oidc_no_role":         "%[2]s signed in with %[1]s, but no rule of this hub gives that account a role. Ask your administrator to add a rule for your group or email domain.",
	},
	"ru": {
		"signin_intro_oidc":    "Войдите с учётной записью компании.",
		"signin_intro_token":   "Или войдите с токеном администратора хаба (admin_token в конфигурации или HUB_ADMIN_TOKEN).",
		"sign_in_with":         "Войти через %s",
		"sign_out_everywhere":  "Выйти везде",
		"signed_in_as":         "Вы вошли как",
		"oidc_too_many":        "Отсюда начато слишком много входов за последнюю минуту. Подождите минуту и попробуйте снова.",
		"sessions_unavailable": "Сеансы сейчас нельзя прочитать или сохранить (база состояния хаба недоступна). Попробуйте через минуту.",
		"oidc_unknown":         "Такого способа входа нет.",
		"oidc_unreachable":     "%s сейчас недоступен. Попробуйте через минуту; если не пройдёт, причина в журнале хаба.",
		"oidc_refused":         "%s не выполнил вход (%s). Попробуйте снова; если не пройдёт, обратитесь к администратору.",
		"oidc_token":           "Ответ %s не принят (%s). Попробуйте снова; если не пройдёт, обратитесь к администратору.",
		"oidc_state":           "Этот вход начат не в этом браузере, уже использован или длился слишком долго. Начните снова кнопкой ниже.",
		"oidc_failed":          "Вход через %s не удался. Попробуйте снова; если не пройдёт, причина в журнале хаба.",
		"oidc_no_role":         "%[2]s вошёл через %[1]s, но ни одно правило этого хаба не даёт этой учётной записи роль. Попросите администратора добавить правило для вашей группы или домена почты.",
	},
}

func init() {
	for code, texts := range signinText {
		for k, v := range texts {
			catalog[code][k] = v
		}
	}
}
