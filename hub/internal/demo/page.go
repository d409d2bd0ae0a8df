package demo

import (
	"html/template"
	"net/http"
	"strings"
)

// pageTmpl is the demo's fake helpdesk page. It refreshes itself without
// reloading: every 5 s a script fetches the page again and replaces each
// ticket's live part (its messages, notes and store answer) and adds new
// tickets on top, never touching the answer forms, so that an answer
// being typed is kept.
var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Reviewhub demo</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
.case{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0}
.msg{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;margin:.5rem 0;border-radius:4px}
.staff{background:#e8f0fe}.note{background:#fff4d6}.label{display:inline-block;background:#eee;border-radius:3px;padding:0 .3rem;margin-right:.2rem;font-size:.8rem}
.store{background:#e6f4ea;padding:.5rem;border-radius:4px}
textarea{width:100%;height:4rem}
</style></head><body>
<h1>Reviewhub demo — fake {{.Helpdesk}}</h1>
<p id="count">{{len .Tickets}} {{.Noun}}s. New {{.Noun}}s, notes and store answers appear every 5 seconds; an answer you are typing stays.
Answer a {{.Noun}}: the answer goes through {{.Helpdesk}}'s webhook to the hub, which publishes it in the store; the outcome comes back as a note.</p>
<div id="tickets">
{{range .Tickets}}<div class="case" id="ticket-{{.ID}}">
<div class="live">
<h3>#{{.ID}} {{.Subject}}</h3>
<div>{{range .Labels}}<span class="label">{{.}}</span>{{end}}</div>
{{range .Messages}}<div class="msg{{if .Staff}} staff{{end}}">{{if .Staff}}<b>{{.Staff}}:</b> {{end}}{{.Content}}</div>{{end}}
{{range .Notes}}<div class="msg note">{{.Content}}</div>{{end}}
{{with .StoreAnswer}}<div class="store">In the store now: {{.}}</div>{{end}}
</div>
<form method="post" action="/answer"><input type="hidden" name="ticket" value="{{.ID}}">
<textarea name="text" placeholder="Your answer"></textarea><button>Answer</button></form>
</div>
{{end}}</div>
<script>
setInterval(async () => {
  let doc;
  try {
    const r = await fetch(location.pathname, {cache: "no-store"});
    if (!r.ok) return;
    doc = new DOMParser().parseFromString(await r.text(), "text/html");
  } catch (e) {
    return; // the demo stopped, or a hiccup: try again next time
  }
  document.getElementById("count").replaceWith(doc.getElementById("count"));
  const list = document.getElementById("tickets");
  for (const c of [...doc.querySelectorAll(".case")].reverse()) { // newest first: prepend oldest first
    const mine = document.getElementById(c.id);
    if (!mine) {
      list.prepend(c);
      continue;
    }
    const live = mine.querySelector(".live"), fresh = c.querySelector(".live");
    if (live.innerHTML !== fresh.innerHTML) live.replaceWith(fresh);
  }
}, 5000);
</script>
</body></html>`))

type pageTicket struct {
	Ticket
	StoreAnswer string
}

func (d *Demo) page() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		tickets := d.desk.tickets()
		out := make([]pageTicket, 0, len(tickets))
		for i := len(tickets) - 1; i >= 0; i-- { // newest first
			pt := pageTicket{Ticket: tickets[i]}
			pt.StoreAnswer, _ = d.storeAnswer(pt.Store, pt.ReviewID)
			out = append(out, pt)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := pageTmpl.Execute(w, map[string]any{"Tickets": out, "Helpdesk": d.desk.title(), "Noun": d.desk.noun()}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /answer", func(w http.ResponseWriter, r *http.Request) {
		id, text := r.FormValue("ticket"), strings.TrimSpace(r.FormValue("text"))
		if id == "" || text == "" {
			http.Error(w, "ticket and text are required", http.StatusBadRequest)
			return
		}
		if err := d.desk.answer(r.Context(), id, text); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		d.say("you answered %s %s", d.desk.noun(), id)
		http.Redirect(w, r, "/#ticket-"+id, http.StatusSeeOther)
	})
	return mux
}
