package pgstore

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/stackflow-tech/snowsync/internal/pgtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.Main(m)) }
