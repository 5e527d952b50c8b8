package snow

import (
	"net/http"
	"strconv"
	"time"

	"github.com/stackflow-tech/snowsync/internal/testserver"
)

// TransactionCancelledSuffix is what a real instance appends to a list body
// when the 60-second transaction quota cancels it mid-stream.
const TransactionCancelledSuffix = `],"error":{"detail":"Transaction cancelled: maximum execution time exceeded. Check logs for error trace.","message":"Transaction cancelled: maximum execution time exceeded"},"status":"failure"}`

// HibernatingFault answers matching requests with the HTML hibernation
// page (200, text/html). Set Method/Path/Times on the result as needed.
func HibernatingFault() testserver.Fault {
	return testserver.Fault{
		Kind:   testserver.FaultStatus,
		Status: http.StatusOK,
		Header: http.Header{"Content-Type": {"text/html;charset=UTF-8"}},
		Body:   HibernationPage,
	}
}

// TransactionCancelledFault serves the real answer cut after cutAt bytes
// (half of it when 0) followed by the "Transaction cancelled: maximum
// execution time exceeded" error object: status 200, JSON that does not
// parse.
func TransactionCancelledFault(cutAt int) testserver.Fault {
	return testserver.Fault{Kind: testserver.FaultTruncate, TruncateAt: cutAt, Body: TransactionCancelledSuffix}
}

// ErrorFault answers with status and a ServiceNow error envelope.
func ErrorFault(status int, message, detail string) testserver.Fault {
	return testserver.Fault{
		Kind:   testserver.FaultStatus,
		Status: status,
		Header: http.Header{"Content-Type": {"application/json;charset=UTF-8"}},
		Body:   string(errorBody(message, strp(detail))),
	}
}

// RateLimitedFault answers 429 with Retry-After and the X-RateLimit-*
// headers and body of a rate limit rule (limit per hour, resetting at reset).
func RateLimitedFault(retryAfter time.Duration, limit int, reset time.Time) testserver.Fault {
	secs := int64((retryAfter + time.Second - 1) / time.Second)
	return testserver.Fault{
		Kind:   testserver.FaultStatus,
		Status: http.StatusTooManyRequests,
		Header: http.Header{
			"Content-Type":      {"application/json;charset=UTF-8"},
			"Retry-After":       {strconv.FormatInt(secs, 10)},
			"X-Ratelimit-Limit": {strconv.Itoa(limit)},
			"X-Ratelimit-Reset": {strconv.FormatInt(reset.Unix(), 10)},
			"X-Ratelimit-Rule":  {"fault0000000000000000000000000000"},
		},
		Body: string(errorBody("Rate limit exceeded", strp("Rate limit of "+strconv.Itoa(limit)+" requests per hour for Table API exceeded"))),
	}
}
