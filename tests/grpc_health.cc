#include "tests/grpc_health.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"

namespace aia::testing {

std::string HealthCheck(const std::shared_ptr<grpc::Channel>& channel, grpc::Status& status,
                        const std::string& service) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  const std::string message =
      service.empty() ? "" : absl::StrCat("\x0a", std::string(1, char(service.size())), service);
  grpc::Slice slice(message);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  if (!done.WaitForNotificationWithTimeout(absl::Seconds(15))) {
    context.TryCancel();
    done.WaitForNotification();  // the cancelled call completes promptly
    ADD_FAILURE() << "the health check did not complete";
  }
  if (!status.ok()) return "";
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return "";
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return bytes;
}

}  // namespace aia::testing
