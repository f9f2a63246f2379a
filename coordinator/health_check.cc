#include "coordinator/health_check.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/generic/generic_stub.h"

namespace aia {
namespace {

// A protobuf varint at `bytes[*at]`; false when truncated.
bool ReadVarint(const std::string& bytes, size_t* at, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 64 && *at < bytes.size(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(bytes[(*at)++]);
    *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

}  // namespace

const char* HealthStatusName(HealthStatus status) {
  switch (status) {
    case HealthStatus::kServing:
      return "SERVING";
    case HealthStatus::kNotServing:
      return "NOT_SERVING";
    case HealthStatus::kServiceUnknown:
      return "SERVICE_UNKNOWN";
    case HealthStatus::kUnknown:
      break;
  }
  return "UNKNOWN";
}

absl::StatusOr<HealthStatus> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                         const std::string& service, absl::Duration timeout) {
  std::string request_bytes;
  if (!service.empty()) {
    request_bytes.push_back('\x0a');  // field 1, length-delimited
    AppendVarint(service.size(), &request_bytes);
    request_bytes += service;
  }
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  // The deadline ends the call; the extra bound guards against a call that ignores it.
  if (!done.WaitForNotificationWithTimeout(timeout + absl::Seconds(5))) {
    context.TryCancel();
    done.WaitForNotification();
  }
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return absl::InternalError("unreadable health response");
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  // HealthCheckResponse: field 1 (varint) is the status; an empty message is UNKNOWN.
  HealthStatus result = HealthStatus::kUnknown;
  size_t at = 0;
  while (at < bytes.size()) {
    uint64_t key = 0;
    if (!ReadVarint(bytes, &at, &key)) return absl::InternalError("malformed health response");
    const int wire_type = static_cast<int>(key & 7);
    if (wire_type == 0) {
      uint64_t value = 0;
      if (!ReadVarint(bytes, &at, &value)) return absl::InternalError("malformed health response");
      if ((key >> 3) == 1 && value <= 3) result = static_cast<HealthStatus>(value);
    } else if (wire_type == 2) {
      uint64_t length = 0;
      if (!ReadVarint(bytes, &at, &length) || length > bytes.size() - at) {
        return absl::InternalError("malformed health response");
      }
      at += length;
    } else {
      return absl::InternalError("malformed health response");
    }
  }
  return result;
}

}  // namespace aia
