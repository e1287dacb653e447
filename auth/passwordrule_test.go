package auth_test

import (
	"context"
	"errors"
	"testing"

	"termhost/auth"
	"termhost/persist"
)

// A new password has at least auth.MinPasswordLength characters, at
// signup (asked once: no repeat is asked for a short one) and at a change
// (issue 9: any length was taken). An existing short password still logs
// in.
func TestNewPasswordMinimumLength(t *testing.T) {
	tests := []struct {
		name     string
		password string
		wantErr  error
	}{
		{name: "empty", password: "", wantErr: auth.ErrNoPassword},
		{name: "one short", password: "1234567", wantErr: auth.ErrShortPassword},
		{name: "eight", password: "12345678"},
		{name: "counted in characters", password: "ééééééé", wantErr: auth.ErrShortPassword},
		{name: "eight accented", password: "éééééééé"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := auth.CheckNewPassword(tt.password); !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("CheckNewPassword(%q) = %v, want %v", tt.password, err, tt.wantErr)
			}
			st := newStore(t)
			a := &auth.Authenticator{Users: st, AllowSignup: true}
			asked := false
			_, err := a.Login(context.Background(), auth.LoginRequest{User: "dave", Password: tt.password, Remote: remote,
				ConfirmSignup: func(context.Context) error { asked = true; return nil }})
			wantLogin := tt.wantErr
			if tt.password == "" {
				wantLogin = auth.ErrNoPassword
			}
			if !errors.Is(err, wantLogin) || (wantLogin == nil && err != nil) {
				t.Fatalf("signup Login = %v, want %v", err, wantLogin)
			}
			if asked != (tt.wantErr == nil) {
				t.Errorf("repeat asked = %v for %q", asked, tt.password)
			}
			if err := st.CreateUser(context.Background(), persist.User{Name: "erin", Role: persist.RoleUser}); err != nil {
				t.Fatal(err)
			}
			_, cerr := a.ChangePassword(context.Background(), st, auth.LoginRequest{User: "erin", Remote: remote}, tt.password)
			if !errors.Is(cerr, tt.wantErr) || (tt.wantErr == nil && cerr != nil) {
				t.Fatalf("ChangePassword = %v, want %v", cerr, tt.wantErr)
			}
		})
	}
}
