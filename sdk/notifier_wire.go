package sdk

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/reviewhub/reviewhub/sdk/proto/reviewhub/plugin/v1"
)

const pluginNotifier = PluginKindNotifier

// ServeNotifier serves a notifier plugin until the hub stops it; it is the
// whole main of one (see ServeStore). Settings are checked against the
// declared schema before impl is called.
func ServeNotifier(impl NotifierPlugin, opts ...ServeOption) error {
	np, err := CheckedNotifier(impl)
	if err != nil {
		return err
	}
	return serve(map[string]plugin.Plugin{
		pluginInfo:     &infoPlugin{srv: &infoServer{kind: PluginKindNotifier, info: infoOf(np.Info)}},
		pluginNotifier: &notifierPlugin{srv: &notifierServer{impl: np}},
	}, opts)
}

// CheckedNotifier returns impl with the checks ServeNotifier runs before
// every call (settings against the schema), for in-process tests.
func CheckedNotifier(impl NotifierPlugin) (NotifierPlugin, error) {
	if impl == nil {
		return nil, errors.New("sdk: nil notifier plugin")
	}
	g := newGuard(func(ctx context.Context) (Info, error) { return impl.Info(ctx, InfoRequest{}) })
	return checkedNotifier{impl, g}, nil
}

type checkedNotifier struct {
	impl NotifierPlugin
	g    *guard
}

func (c checkedNotifier) Info(ctx context.Context, _ InfoRequest) (Info, error) {
	i, err := c.g.info(ctx)
	i.Kind = PluginKindNotifier
	return i, err
}

func (c checkedNotifier) CheckSettings(ctx context.Context, req CheckSettingsRequest) (CheckSettingsResponse, error) {
	var err error
	if req.Settings, err = c.g.settings(ctx, req.Settings); err != nil {
		return CheckSettingsResponse{}, err
	}
	return c.impl.CheckSettings(ctx, req)
}

func (c checkedNotifier) Notify(ctx context.Context, req NotifyRequest) (NotifyResponse, error) {
	var err error
	if req.Settings, err = c.g.settings(ctx, req.Settings); err != nil {
		return NotifyResponse{}, err
	}
	if req.Event.Type == "" {
		return NotifyResponse{}, Errorf(ErrorKindInvalid, "the event has no type")
	}
	return c.impl.Notify(ctx, req)
}

type notifierPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	srv *notifierServer
}

func (p *notifierPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterNotifierServer(s, p.srv)
	return nil
}

func (p *notifierPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &notifierClient{info: pb.NewPluginClient(c), c: pb.NewNotifierClient(c)}, nil
}

// notifierServer adapts a NotifierPlugin to the gRPC Notifier service.
type notifierServer struct {
	pb.UnimplementedNotifierServer
	impl NotifierPlugin // a checkedNotifier
}

func (s *notifierServer) Capabilities(ctx context.Context, _ *pb.NotifierCapabilitiesRequest) (*pb.NotifierCapabilities, error) {
	i, err := s.impl.Info(ctx, InfoRequest{})
	if err != nil {
		return nil, toStatus(err)
	}
	c := i.Notifier
	if c == nil {
		return &pb.NotifierCapabilities{}, nil
	}
	return &pb.NotifierCapabilities{MaxTextLength: int32(c.MaxTextLength), Formatting: c.Formatting, Threads: c.Threads}, nil
}

func (s *notifierServer) CheckSettings(ctx context.Context, r *pb.NotifierCheckRequest) (*pb.NotifierCheckResponse, error) {
	rep, err := s.impl.CheckSettings(ctx, CheckSettingsRequest{Settings: r.GetSettings()})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.NotifierCheckResponse{Detail: rep.Detail}
	for _, c := range rep.Checks {
		out.Checks = append(out.Checks, &pb.Check{Name: c.Name, Status: c.Status, Detail: c.Detail})
	}
	return out, nil
}

func (s *notifierServer) Notify(ctx context.Context, r *pb.NotifyRequest) (*pb.NotifyResponse, error) {
	ctx, report := serveCounted(ctx)
	defer report()
	res, err := s.impl.Notify(ctx, NotifyRequest{Settings: r.GetSettings(), DestinationID: r.GetDestinationId(),
		Event: eventFromPB(r.GetEvent()), ThreadKey: r.GetThreadKey(), ThreadRef: r.GetThreadRef()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.NotifyResponse{MessageRef: res.MessageRef}, nil
}

// notifierClient is the hub's side of a notifier plugin.
type notifierClient struct {
	info pb.PluginClient
	c    pb.NotifierClient
}

// Info is the plugin's Info with its capabilities (a second call: the
// Plugin service's answer has no field for them).
func (c *notifierClient) Info(ctx context.Context, _ InfoRequest) (Info, error) {
	r, err := c.info.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return Info{}, fromStatus("info", err)
	}
	i := infoFromPB(r)
	caps, err := c.c.Capabilities(ctx, &pb.NotifierCapabilitiesRequest{})
	if err != nil {
		return Info{}, fromStatus("notifier capabilities", err)
	}
	i.Notifier = &NotifierCapabilities{MaxTextLength: int(caps.GetMaxTextLength()), Formatting: caps.GetFormatting(),
		Threads: caps.GetThreads()}
	if caps.GetMaxTextLength() == 0 && caps.GetFormatting() == "" && !caps.GetThreads() {
		i.Notifier = nil // the plugin declared none
	}
	return i, nil
}

func (c *notifierClient) CheckSettings(ctx context.Context, req CheckSettingsRequest) (CheckSettingsResponse, error) {
	r, err := c.c.CheckSettings(ctx, &pb.NotifierCheckRequest{Settings: req.Settings})
	if err != nil {
		return CheckSettingsResponse{}, fromStatus("check settings", err)
	}
	out := CheckSettingsResponse{Detail: r.GetDetail()}
	for _, ch := range r.GetChecks() {
		out.Checks = append(out.Checks, Check{Name: ch.GetName(), Status: ch.GetStatus(), Detail: ch.GetDetail()})
	}
	return out, nil
}

func (c *notifierClient) Notify(ctx context.Context, req NotifyRequest) (NotifyResponse, error) {
	trailer, counted := countedCall(ctx)
	defer counted()
	r, err := c.c.Notify(ctx, &pb.NotifyRequest{Settings: req.Settings, DestinationId: req.DestinationID,
		Event: eventToPB(req.Event), ThreadKey: req.ThreadKey, ThreadRef: req.ThreadRef}, trailer)
	if err != nil {
		return NotifyResponse{}, fromStatus("notify", err)
	}
	return NotifyResponse{MessageRef: r.GetMessageRef()}, nil
}

var _ NotifierPlugin = (*notifierClient)(nil)

func eventToPB(e Event) *pb.Event {
	out := &pb.Event{Id: e.ID, Type: e.Type, At: tsToPB(e.At), IntegrationId: e.IntegrationID, Store: e.Store,
		StoreName: e.StoreName, AppId: e.AppID, AppName: e.AppName}
	if e.Review != nil {
		out.Review = reviewToPB(*e.Review)
	}
	for _, v := range e.History {
		out.History = append(out.History, &pb.ReviewVersion{Rating: int32(v.Rating), Title: v.Title, Text: v.Text,
			SeenAt: tsToPB(v.SeenAt), Reply: replyToPB(v.Reply)})
	}
	if r := e.Reply; r != nil {
		out.Reply = &pb.EventReply{Text: r.Text, Staff: r.Staff, Detail: r.Detail}
	}
	if h := e.Health; h != nil {
		out.Health = &pb.EventHealth{Health: h.Health, Previous: h.Previous, Recovered: h.Recovered, Reason: h.Reason}
	}
	if s := e.Spike; s != nil {
		out.Spike = &pb.EventSpike{Count: int32(s.Count), Usual: s.Usual, AfterVersion: s.AfterVersion}
		if s.Window != 0 {
			out.Spike.Window = durationpb.New(s.Window)
		}
		for _, r := range s.Ratings {
			out.Spike.Ratings = append(out.Spike.Ratings, int32(r))
		}
	}
	for _, sub := range e.Events {
		out.Events = append(out.Events, eventToPB(sub))
	}
	return out
}

func eventFromPB(p *pb.Event) Event {
	if p == nil {
		return Event{}
	}
	out := Event{ID: p.GetId(), Type: p.GetType(), At: tsFromPB(p.GetAt()), IntegrationID: p.GetIntegrationId(),
		Store: p.GetStore(), StoreName: p.GetStoreName(), AppID: p.GetAppId(), AppName: p.GetAppName()}
	if r := p.GetReview(); r != nil {
		rv := reviewFromPB(r)
		out.Review = &rv
	}
	for _, v := range p.GetHistory() {
		out.History = append(out.History, ReviewVersion{Rating: int(v.GetRating()), Title: v.GetTitle(), Text: v.GetText(),
			SeenAt: tsFromPB(v.GetSeenAt()), Reply: replyFromPB(v.GetReply())})
	}
	if r := p.GetReply(); r != nil {
		out.Reply = &EventReply{Text: r.GetText(), Staff: r.GetStaff(), Detail: r.GetDetail()}
	}
	if h := p.GetHealth(); h != nil {
		out.Health = &EventHealth{Health: h.GetHealth(), Previous: h.GetPrevious(), Recovered: h.GetRecovered(), Reason: h.GetReason()}
	}
	if s := p.GetSpike(); s != nil {
		out.Spike = &EventSpikeInfo{Count: int(s.GetCount()), Usual: s.GetUsual(), AfterVersion: s.GetAfterVersion()}
		if s.GetWindow() != nil {
			out.Spike.Window = s.GetWindow().AsDuration()
		}
		for _, r := range s.GetRatings() {
			out.Spike.Ratings = append(out.Spike.Ratings, int(r))
		}
	}
	for _, sub := range p.GetEvents() {
		out.Events = append(out.Events, eventFromPB(sub))
	}
	return out
}
