package sdk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// ErrorKind classifies a plugin error so the hub knows what to do with it.
type ErrorKind int

// Error kinds. The zero value, ErrorKindUnknown, is treated like
// ErrorKindUnavailable (retried), so an unclassified error never loses
// work. What the hub does with each kind is in the SDK's README.
const (
	ErrorKindUnknown ErrorKind = iota
	// ErrorKindInvalid: the request is wrong and will never succeed as is.
	ErrorKindInvalid
	// ErrorKindUnauthenticated: the credentials are wrong.
	ErrorKindUnauthenticated
	// ErrorKindPermissionDenied: the credentials lack access.
	ErrorKindPermissionDenied
	// ErrorKindNotFound: the app, review or ticket does not exist.
	ErrorKindNotFound
	// ErrorKindRefused: the vendor refused for a reason a person must fix
	// (reply too long, store account not connected).
	ErrorKindRefused
	// ErrorKindRateLimited: retry after Error.RetryAfter.
	ErrorKindRateLimited
	// ErrorKindUnavailable: a transient failure; retry with backoff.
	ErrorKindUnavailable
	// ErrorKindUnsupported: the plugin does not offer this operation.
	ErrorKindUnsupported
)

// Older names of the error kinds.
const (
	// Deprecated: use ErrorKindUnknown.
	KindUnknown = ErrorKindUnknown
	// Deprecated: use ErrorKindInvalid.
	Invalid = ErrorKindInvalid
	// Deprecated: use ErrorKindUnauthenticated.
	Unauthenticated = ErrorKindUnauthenticated
	// Deprecated: use ErrorKindPermissionDenied.
	PermissionDenied = ErrorKindPermissionDenied
	// Deprecated: use ErrorKindNotFound.
	NotFound = ErrorKindNotFound
	// Deprecated: use ErrorKindRefused.
	Refused = ErrorKindRefused
	// Deprecated: use ErrorKindRateLimited.
	RateLimited = ErrorKindRateLimited
	// Deprecated: use ErrorKindUnavailable.
	Unavailable = ErrorKindUnavailable
	// Deprecated: use ErrorKindUnsupported.
	Unsupported = ErrorKindUnsupported
)

var kindNames = map[ErrorKind]string{
	ErrorKindUnknown: "unknown", ErrorKindInvalid: "invalid", ErrorKindUnauthenticated: "unauthenticated",
	ErrorKindPermissionDenied: "permission denied", ErrorKindNotFound: "not found", ErrorKindRefused: "refused",
	ErrorKindRateLimited: "rate limited", ErrorKindUnavailable: "unavailable", ErrorKindUnsupported: "unsupported",
}

func (k ErrorKind) String() string { return kindNames[k] }

// Permanent reports whether retrying cannot help.
func (k ErrorKind) Permanent() bool {
	switch k {
	case ErrorKindInvalid, ErrorKindUnauthenticated, ErrorKindPermissionDenied, ErrorKindNotFound, ErrorKindRefused, ErrorKindUnsupported:
		return true
	}
	return false
}

// Error is a classified plugin error. Plugins return it (via the helpers
// below); the hub receives the same kind, message and RetryAfter.
type Error struct {
	Kind ErrorKind
	// Op is the plugin call that failed ("post reply"), set by the hub's
	// side of the connection; Message is the plugin's own words, for people.
	Op         string
	Message    string
	RetryAfter time.Duration // for ErrorKindRateLimited (and optionally ErrorKindUnavailable)
	// Reason refines Kind for one plugin kind's own cases (ReasonQuotaExceeded,
	// ReasonUnsupportedLanguage); empty for most errors. Sent as a
	// google.rpc.ErrorInfo detail, which an older receiver ignores (SDK v0.3).
	Reason string
	Err    error // the cause, not sent over the wire
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Err != nil && msg == "" {
		msg = e.Err.Error()
	}
	if e.Op != "" {
		return e.Op + ": " + msg
	}
	return msg
}

// MessageOf is the plugin's message of err without the operation (what a
// person should read), or err's text when err is not an *Error.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error of the given kind.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: kind, Message: err.Error(), Err: errors.Unwrap(err)}
}

// RetryAfterError is an ErrorKindRateLimited error asking to retry after d.
func RetryAfterError(d time.Duration, format string, args ...any) *Error {
	e := Errorf(ErrorKindRateLimited, format, args...)
	e.RetryAfter = d
	return e
}

// KindOf returns the kind of err (ErrorKindUnknown for unclassified errors).
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ErrorKindUnknown
}

// RetryAfterOf returns the RetryAfter of err, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

var kindCodes = map[ErrorKind]codes.Code{
	ErrorKindInvalid: codes.InvalidArgument, ErrorKindUnauthenticated: codes.Unauthenticated,
	ErrorKindPermissionDenied: codes.PermissionDenied, ErrorKindNotFound: codes.NotFound,
	ErrorKindRefused: codes.FailedPrecondition, ErrorKindRateLimited: codes.ResourceExhausted,
	ErrorKindUnavailable: codes.Unavailable, ErrorKindUnsupported: codes.Unimplemented,
	ErrorKindUnknown: codes.Unknown,
}

// toStatus turns a plugin's error into a gRPC status error.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return status.Error(codes.Canceled, err.Error())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	var e *Error
	if !errors.As(err, &e) {
		return status.Error(codes.Unknown, err.Error())
	}
	st := status.New(kindCodes[e.Kind], err.Error())
	if e.RetryAfter > 0 {
		if withDetail, derr := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)}); derr == nil {
			st = withDetail
		}
	}
	if e.Reason != "" {
		if withDetail, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: e.Reason, Domain: errorDomain}); derr == nil {
			st = withDetail
		}
	}
	return st.Err()
}

// fromStatus turns a gRPC error from a plugin back into an *Error.
func fromStatus(op string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return &Error{Kind: ErrorKindUnavailable, Op: op, Message: err.Error(), Err: err}
	}
	kind := ErrorKindUnknown
	for k, c := range kindCodes {
		if c == st.Code() && k != ErrorKindUnknown {
			kind = k
		}
	}
	switch st.Code() {
	case codes.Canceled:
		return fmt.Errorf("%s: %w", op, context.Canceled)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", op, context.DeadlineExceeded)
	case codes.Internal:
		// Transport failures (plugin died mid-call) come back as ErrorKindUnavailable or Internal.
		if strings.Contains(st.Message(), "transport") || strings.Contains(st.Message(), "connection") {
			kind = ErrorKindUnavailable
		}
	}
	e := &Error{Kind: kind, Op: op, Message: st.Message()}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.RetryInfo:
			e.RetryAfter = d.GetRetryDelay().AsDuration()
		case *errdetails.ErrorInfo:
			if d.GetDomain() == errorDomain {
				e.Reason = d.GetReason()
			}
		}
	}
	return e
}

// errorDomain is the google.rpc.ErrorInfo domain of Error.Reason.
const errorDomain = "reviewhub.plugin"

// ReasonOf returns the Reason of err, or "".
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
