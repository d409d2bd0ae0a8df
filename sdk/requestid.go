package sdk

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// requestIDKey is the gRPC metadata key carrying the hub's request id to
// the plugin.
const requestIDKey = "x-reviewhub-request-id"

type requestIDCtx struct{}

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

// sendRequestID passes the context's request id to the plugin.
func sendRequestID(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if id := RequestID(ctx); id != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, requestIDKey, id)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// receiveRequestID puts the hub's request id into the call's context and
// logs the call at debug level (the plugin's log reaches the hub's).
func receiveRequestID(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(requestIDKey); len(v) > 0 && len(v[0]) <= 128 {
			ctx = WithRequestID(ctx, v[0])
		}
	}
	start := time.Now()
	resp, err := handler(ctx, req)
	if id := RequestID(ctx); id != "" {
		result := "ok"
		if err != nil {
			result = KindOf(fromStatus("", err)).String()
		}
		Log(ctx).Debug("call", "method", info.FullMethod, "duration", time.Since(start), "result", result)
	}
	return resp, err
}
