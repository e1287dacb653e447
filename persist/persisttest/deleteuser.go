package persisttest

import (
	"testing"
	"time"

	"termhost/persist"
)

// owned is what one user has in the store, for the DeleteUser cases.
type owned struct {
	session string
	doc     string
}

// give creates an account (unless account is false) and a session with a
// history event, a kept and a quarantined snapshot, a document, a last
// workspace, an HTTP login, a one-time link and a chat line.
func give(t *testing.T, s persist.Store, name string, account bool) owned {
	t.Helper()
	ctx := t.Context()
	if account {
		noErr(t, s.CreateUser(ctx, persist.User{Name: name, Role: persist.RoleUser, CreatedAt: t0}), "CreateUser "+name)
	}
	id, f := takenSession(t, s, name, "node-a")
	noErr(t, s.AppendEvent(ctx, persist.Event{SessionID: id, At: t0, Kind: "created", Actor: name}), "AppendEvent")
	for range 2 {
		_, err := s.PutSnapshot(ctx, id, f, []byte(name+" workspace"))
		noErr(t, err, "PutSnapshot")
	}
	noErr(t, s.QuarantineSnapshot(ctx, id, f, 2, "bad"), "QuarantineSnapshot")
	noErr(t, s.PutLastWorkspace(ctx, name, []byte(name+" last")), "PutLastWorkspace")
	_, err := s.PostChat(ctx, persist.ChatMessage{Room: "#lobby", User: name, Text: "hello from " + name, At: t0})
	noErr(t, err, "PostChat")
	far := t0.Add(time.Hour)
	noErr(t, s.CreateLogin(ctx, persist.Login{Hash: "login-" + name, User: name, CreatedAt: t0, LastSeen: t0, IdleUntil: far, ExpiresAt: far}), "CreateLogin")
	noErr(t, s.CreateLink(ctx, persist.Link{Hash: "link-" + name, User: name, SessionID: id, CreatedAt: t0, ExpiresAt: far}), "CreateLink")
	return owned{session: id, doc: createDoc(t, s, name, name+"'s notes", "secret").ID}
}

// holds reports, for each kind of row, whether name still has it. It
// uses up name's one-time link if there is one.
func holds(t *testing.T, s persist.Store, name string, o owned) map[string]bool {
	t.Helper()
	ctx := t.Context()
	_, errUser := s.GetUser(ctx, name)
	recs, err := s.ListSessions(ctx, persist.SessionFilter{Owner: name, IncludeEnd: true})
	noErr(t, err, "ListSessions")
	_, errSession := s.GetSession(ctx, o.session)
	events, err := s.Events(ctx, o.session)
	noErr(t, err, "Events")
	snaps, err := s.Snapshots(ctx, o.session)
	noErr(t, err, "Snapshots")
	q, err := s.Quarantined(ctx, o.session)
	noErr(t, err, "Quarantined")
	docs, err := s.ListDocuments(ctx, name)
	noErr(t, err, "ListDocuments")
	_, errDoc := s.GetDocument(ctx, name, o.doc)
	_, errLast := s.LastWorkspace(ctx, name)
	chat, err := s.ChatHistory(ctx, "#lobby", 0, 100)
	noErr(t, err, "ChatHistory")
	said := false
	for _, m := range chat {
		said = said || m.User == name
	}
	logins, err := s.ListLogins(ctx, name)
	noErr(t, err, "ListLogins")
	_, errLink := s.TakeLink(ctx, "link-"+name, t0)
	return map[string]bool{
		"account": errUser == nil, "sessions": len(recs) > 0 || errSession == nil, "history": len(events) > 0,
		"snapshots": len(snaps) > 0, "quarantine": len(q) > 0, "documents": len(docs) > 0 || errDoc == nil,
		"last workspace": errLast == nil, "chat": said, "logins": len(logins) > 0, "links": errLink == nil,
	}
}

// testDeleteUser: deleting an account removes everything it owns in one
// step (SPEC §7), leaves other users alone, and keeps chat lines.
func testDeleteUser(t *testing.T, fresh opener) {
	all := map[string]bool{"account": true, "sessions": true, "history": true, "snapshots": true,
		"quarantine": true, "documents": true, "last workspace": true, "chat": true, "logins": true, "links": true}
	gone := map[string]bool{"chat": true} // chat lines are the rooms' history
	tests := []struct {
		name    string
		account bool  // alice has an account row
		wantErr error // from DeleteUser
	}{
		{"account and data", true, nil},
		{"leftovers without an account", false, persist.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t)
			a := give(t, s, "alice", tt.account)
			b := give(t, s, "bob", true)
			err := s.DeleteUser(t.Context(), "alice")
			if tt.wantErr == nil {
				noErr(t, err, "DeleteUser")
			} else {
				wantErr(t, err, tt.wantErr, "DeleteUser")
			}
			checkHolds(t, "alice after delete", holds(t, s, "alice", a), gone)
			checkHolds(t, "bob", holds(t, s, "bob", b), all)
			wantErr(t, s.DeleteUser(t.Context(), "alice"), persist.ErrNotFound, "DeleteUser again")

			// A new account of the same name starts empty.
			noErr(t, s.CreateUser(t.Context(), persist.User{Name: "alice", Role: persist.RoleUser, CreatedAt: t0}), "CreateUser alice again")
			want := map[string]bool{"account": true, "chat": true}
			checkHolds(t, "the new alice", holds(t, s, "alice", a), want)
		})
	}
}

func checkHolds(t *testing.T, who string, got, want map[string]bool) {
	t.Helper()
	for _, k := range []string{"account", "sessions", "history", "snapshots", "quarantine", "documents", "last workspace", "chat", "logins", "links"} {
		if got[k] != want[k] {
			t.Errorf("%s: has %s = %v, want %v", who, k, got[k], want[k])
		}
	}
}
