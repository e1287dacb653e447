package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"termhost/admin"
	"termhost/persist"
	"termhost/sessions"
)

// adminWithSession signs an admin in and gives it a session "one".
func adminWithSession(t *testing.T) (*browser, *sessions.Session) {
	t.Helper()
	e := newEnv(t)
	e.addUser("root", persist.RoleAdmin, "pw-root")
	root := e.browser()
	root.mustSignIn("root", "pw-root")
	s1, err := e.mgr.Create(context.Background(), sessions.User{Name: "root", Admin: true}, "one")
	if err != nil {
		t.Fatal(err)
	}
	return root, s1
}

// The API's POST /api/sessions/{id}/{verb} takes exactly the one-session
// verbs of the admin table (admin.Verbs), by name and alias; every other
// admin verb is no action (issue 11: no second copy of verb parsing).
func TestAPIVerbsComeFromTheTable(t *testing.T) {
	root, s1 := adminWithSession(t)
	acting := admin.SessionVerbs()
	for _, v := range admin.Verbs {
		for _, name := range append([]string{v.Name}, v.Aliases...) {
			if name == "kill" {
				continue // would end the session the others act on; TestAPI kills
			}
			t.Run(name, func(t *testing.T) {
				want := http.StatusNotFound
				form := url.Values{}
				if slices.Contains(acting, v.Name) {
					want = http.StatusOK
					if v.Text {
						form.Set("text", "hello")
					}
				}
				resp, body := root.post("/api/sessions/"+s1.ID()+"/"+name, form, "X-CSRF-Token", root.csrf("/"))
				if resp.StatusCode != want {
					t.Fatalf("POST %s: %d, want %d\n%s", name, resp.StatusCode, want, body)
				}
			})
		}
	}
}

// The /admin page offers exactly the one-session verbs of the table, one
// form each per row of an attached session; a session with no client has
// no Detach (newcomer trial: "detached 0 client(s)").
func TestAdminPageVerbsComeFromTheTable(t *testing.T) {
	root, s1 := adminWithSession(t)
	_, body := root.get("/admin")
	if strings.Contains(body, `action="/admin/sessions/`+s1.ID()+`/detach"`) {
		t.Errorf("/admin offers Detach for a session without clients")
	}
	root.dial("/s/"+s1.ID()+"/ws", 80, 24).waitFor("root")
	_, body = root.get("/admin")
	got := regexp.MustCompile(`action="/admin/sessions/`+s1.ID()+`/([a-z]+)"`).FindAllStringSubmatch(body, -1)
	var verbs []string
	for _, m := range got {
		verbs = append(verbs, m[1])
	}
	if want := admin.SessionVerbs(); !slices.Equal(verbs, want) {
		t.Errorf("/admin offers %v for a session, the table's session verbs are %v", verbs, want)
	}
}
