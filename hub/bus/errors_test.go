package bus

import (
	"errors"
	"testing"

	"github.com/reviewhub/reviewhub/sdk"
)

func TestPermanentErrors(t *testing.T) {
	if !IsPermanent(sdk.Errorf(sdk.ErrorKindRefused, "too long")) || !IsPermanent(Permanent(errors.New("bad"))) {
		t.Error("refused / Permanent must be permanent")
	}
	if IsPermanent(sdk.Errorf(sdk.ErrorKindUnavailable, "down")) || IsPermanent(errors.New("plain")) {
		t.Error("unavailable and unclassified errors must be retried")
	}
}
