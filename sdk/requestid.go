package sdk

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// requestIDKey is the gRPC metadata key carrying the hub's request id to
// the plugin; debugKey says that the hub logs at debug level, so the SDK's
// own lines about the call (the call, its vendor requests) are worth
// writing.
const (
	requestIDKey = "x-reviewhub-request-id"
	debugKey     = "x-reviewhub-debug"
)

type (
	requestIDCtx struct{}
	debugCtx     struct{}
)

// debugging reports whether the hub asked for the SDK's debug lines.
func debugging(ctx context.Context) bool { on, _ := ctx.Value(debugCtx{}).(bool); return on }

// WithRequestID returns ctx carrying the hub's request id: the id of one
// poll, one webhook call or one bus message (its correlation id). Calls to
// plugins pass it on, so one review's trip can be followed in the logs.
func WithRequestID(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, requestIDCtx{}, id)
}

// RequestID is the request id ctx carries ("" if none). In a plugin, the
// context of every call carries the hub's.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDCtx{}).(string)
	return id
}

// Log is Logger with the call's request id attached: what a plugin logs
// about a call (a vendor request, a retry) can be joined with the hub's
// lines for the same review.
func Log(ctx context.Context) *slog.Logger {
	l := Logger()
	if id := RequestID(ctx); id != "" {
		l = l.With("request_id", id)
	}
	return l
}

// sendRequestID passes the context's request id to the plugin, and
// whether the hub's log (log) wants debug lines.
func sendRequestID(log *slog.Logger) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if id := RequestID(ctx); id != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, requestIDKey, id)
			if log != nil && log.Enabled(ctx, slog.LevelDebug) {
				ctx = metadata.AppendToOutgoingContext(ctx, debugKey, "1")
			}
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// receiveRequestID puts the hub's request id into the call's context and,
// when the hub logs at debug level, logs the call (the plugin's log
// reaches the hub's).
func receiveRequestID(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(requestIDKey); len(v) > 0 && len(v[0]) <= 128 {
			ctx = WithRequestID(ctx, v[0])
		}
		if v := md.Get(debugKey); len(v) > 0 && v[0] == "1" {
			ctx = context.WithValue(ctx, debugCtx{}, true)
		}
	}
	if !debugging(ctx) {
		return handler(ctx, req)
	}
	start := time.Now()
	resp, err := handler(ctx, req)
	result := "ok"
	if err != nil {
		result = KindOf(fromStatus("", err)).String()
	}
	Log(ctx).Debug("call", "method", info.FullMethod, "duration", time.Since(start), "result", result)
	return resp, err
}
