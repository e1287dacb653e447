package auth

import (
	"fmt"
	"unicode/utf8"
)

// MinPasswordLength is the fewest characters (Unicode code points, not
// bytes) a new password may have, on every transport and in `termhost
// user` (issue 9: any length was taken). Logins with an older, shorter
// password still work; only setting one is refused. README states it.
const MinPasswordLength = 8

// ErrShortPassword refuses a new password under MinPasswordLength; its
// text is what users see.
var ErrShortPassword = fmt.Errorf("passwords are at least %d characters", MinPasswordLength)

// CheckNewPassword is the rule for a password being set (signup, passwd,
// `termhost user add|passwd`). Errors: ErrNoPassword (empty),
// ErrShortPassword (wrapped, with the length given).
func CheckNewPassword(password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n == 0:
		return ErrNoPassword
	case n < MinPasswordLength:
		return fmt.Errorf("%w (this one has %d)", ErrShortPassword, n)
	}
	return nil
}
