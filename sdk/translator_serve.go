package sdk

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/reviewhub/reviewhub/sdk/proto/reviewhub/plugin/v1"
)

// pluginTranslator is the go-plugin name of the Translator service.
const pluginTranslator = PluginKindTranslator

type translatorGRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	srv *translatorServer
}

func (p *translatorGRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterTranslatorServer(s, p.srv)
	return nil
}

func (p *translatorGRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &translatorClient{info: pb.NewPluginClient(c), c: pb.NewTranslatorClient(c)}, nil
}

// ServeTranslator serves a translator plugin until the hub stops it; it is
// the whole main of one (see ServeStore). Before impl is called, the SDK
// checks each call's settings against the declared schema and each
// Translate request against the capabilities (CheckedTranslator).
func ServeTranslator(impl TranslatorPlugin, opts ...ServeOption) error {
	tp, err := CheckedTranslator(impl)
	if err != nil {
		return err
	}
	return serve(map[string]plugin.Plugin{
		pluginInfo:       &infoPlugin{srv: &infoServer{kind: PluginKindTranslator, info: infoOf(tp.Info)}},
		pluginTranslator: &translatorGRPCPlugin{srv: &translatorServer{impl: tp}},
	}, opts)
}

// translatorServer adapts a TranslatorPlugin to the gRPC Translator service.
type translatorServer struct {
	pb.UnimplementedTranslatorServer
	impl TranslatorPlugin // a checkedTranslator
}

func (s *translatorServer) Capabilities(ctx context.Context, _ *pb.TranslatorCapabilitiesRequest) (*pb.TranslatorCapabilities, error) {
	i, err := s.impl.Info(ctx, InfoRequest{})
	if err != nil {
		return nil, toStatus(err)
	}
	return translatorCapsToPB(i.Translator), nil
}

func (s *translatorServer) CheckCredentials(ctx context.Context, r *pb.CheckCredentialsRequest) (*pb.CheckCredentialsResponse, error) {
	rep, err := s.impl.CheckCredentials(ctx, CheckCredentialsRequest{Settings: r.GetSettings()})
	if err != nil {
		return nil, toStatus(err)
	}
	return reportToPB(rep), nil
}

func (s *translatorServer) Translate(ctx context.Context, r *pb.TranslateRequest) (*pb.TranslateResponse, error) {
	ctx, report := serveCounted(ctx)
	defer report()
	res, err := s.impl.Translate(ctx, TranslateRequest{Settings: r.GetSettings(), Texts: r.GetTexts(), From: r.GetFrom(), To: r.GetTo()})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.TranslateResponse{}
	for _, t := range res.Translations {
		out.Translations = append(out.Translations, &pb.Translation{Text: t.Text, DetectedLanguage: t.DetectedLanguage,
			BilledCharacters: int64(t.BilledCharacters)})
	}
	return out, nil
}

// translatorClient is the hub's side of a translator plugin; it implements
// TranslatorPlugin. Its Info carries the capabilities (asked with a
// second call, Translator.Capabilities).
type translatorClient struct {
	info pb.PluginClient
	c    pb.TranslatorClient
}

func (c *translatorClient) Info(ctx context.Context, _ InfoRequest) (Info, error) {
	r, err := c.info.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return Info{}, fromStatus("info", err)
	}
	i := infoFromPB(r)
	caps, err := c.c.Capabilities(ctx, &pb.TranslatorCapabilitiesRequest{})
	if err != nil {
		return Info{}, fromStatus("translator capabilities", err)
	}
	i.Translator = translatorCapsFromPB(caps)
	return i, nil
}

func (c *translatorClient) CheckCredentials(ctx context.Context, req CheckCredentialsRequest) (CheckCredentialsResponse, error) {
	r, err := c.c.CheckCredentials(ctx, &pb.CheckCredentialsRequest{Settings: req.Settings})
	if err != nil {
		return CheckCredentialsResponse{}, fromStatus("check credentials", err)
	}
	return reportFromPB(r), nil
}

func (c *translatorClient) Translate(ctx context.Context, req TranslateRequest) (TranslateResponse, error) {
	trailer, counted := countedCall(ctx)
	defer counted()
	r, err := c.c.Translate(ctx, &pb.TranslateRequest{Settings: req.Settings, Texts: req.Texts, From: req.From, To: req.To}, trailer)
	if err != nil {
		return TranslateResponse{}, fromStatus("translate", err)
	}
	var res TranslateResponse
	for _, t := range r.GetTranslations() {
		res.Translations = append(res.Translations, Translation{Text: t.GetText(), DetectedLanguage: t.GetDetectedLanguage(),
			BilledCharacters: int(t.GetBilledCharacters())})
	}
	return res, nil
}

var _ TranslatorPlugin = (*translatorClient)(nil)

func translatorCapsToPB(c *TranslatorCapabilities) *pb.TranslatorCapabilities {
	if c == nil {
		return &pb.TranslatorCapabilities{}
	}
	out := &pb.TranslatorCapabilities{SourceLanguages: c.SourceLanguages, TargetLanguages: c.TargetLanguages,
		DetectsLanguage: c.DetectsLanguage, MaxCharactersPerCall: int32(c.MaxCharactersPerCall), MaxTextsPerCall: int32(c.MaxTextsPerCall)}
	for _, q := range c.Quotas {
		out.Quotas = append(out.Quotas, &pb.TranslatorQuota{Name: q.Name, Unit: q.Unit, Limit: q.Limit, Window: durToPB(q.Window)})
	}
	return out
}

func translatorCapsFromPB(p *pb.TranslatorCapabilities) *TranslatorCapabilities {
	c := &TranslatorCapabilities{SourceLanguages: p.GetSourceLanguages(), TargetLanguages: p.GetTargetLanguages(),
		DetectsLanguage: p.GetDetectsLanguage(), MaxCharactersPerCall: int(p.GetMaxCharactersPerCall()),
		MaxTextsPerCall: int(p.GetMaxTextsPerCall())}
	for _, q := range p.GetQuotas() {
		c.Quotas = append(c.Quotas, TranslatorQuota{Name: q.GetName(), Unit: q.GetUnit(), Limit: q.GetLimit(), Window: q.GetWindow().AsDuration()})
	}
	return c
}
