// HttpGet: a minimal HTTP/1.0 client for tests, so they can scrape a metrics
// endpoint or query a Prometheus server without a new dependency. Numeric IPv4
// addresses only; every wait is bounded by `timeout`.
//
// Example:
//   absl::StatusOr<HttpResponse> response = HttpGet("127.0.0.1", port, "/metrics");
//   ASSERT_TRUE(response.ok()) << response.status();
//   EXPECT_EQ(response->status, 200);
#ifndef AIA_METRICS_HTTP_GET_H_
#define AIA_METRICS_HTTP_GET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace aia::testing {

struct HttpResponse {
  int status = 0;    // 200, 404, ...
  std::string body;  // after the headers
};

// GET http://HOST:PORT`path`. Unavailable when nothing answers (refused, timed out,
// or the connection closed before a status line).
absl::StatusOr<HttpResponse> HttpGet(const std::string& host, int port, const std::string& path,
                                     absl::Duration timeout = absl::Seconds(5));

}  // namespace aia::testing

#endif  // AIA_METRICS_HTTP_GET_H_
