package bus

import (
	"errors"

	"github.com/reviewhub/reviewhub/sdk"
)

// IsPermanent reports whether an error can never succeed on retry: such
// messages go to the dead letters with the reason. It is the hub's one
// decision: a plugin's error is permanent by its kind (sdk.ErrorKind's
// Permanent), the hub's own (a malformed message, a vanished integration)
// when wrapped with Permanent.
func IsPermanent(err error) bool {
	var perm *PermanentError
	if errors.As(err, &perm) {
		return true
	}
	return sdk.KindOf(err).Permanent()
}

// PermanentError marks a handler error that retrying cannot fix.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as permanent.
func Permanent(err error) error { return &PermanentError{Err: err} }
