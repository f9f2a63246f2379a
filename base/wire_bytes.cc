#include "base/wire_bytes.h"

#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace aia {
namespace {

using ::google::protobuf::io::CodedOutputStream;
using ::google::protobuf::internal::WireFormatLite;

void AppendTag(int field, WireFormatLite::WireType type, std::string& out) {
  uint8_t buffer[5];
  const uint8_t* end =
      CodedOutputStream::WriteVarint32ToArray(WireFormatLite::MakeTag(field, type), buffer);
  out.append(reinterpret_cast<const char*>(buffer), end - buffer);
}

void AppendVarint(uint64_t value, std::string& out) {
  uint8_t buffer[10];
  const uint8_t* end = CodedOutputStream::WriteVarint64ToArray(value, buffer);
  out.append(reinterpret_cast<const char*>(buffer), end - buffer);
}

void ReleaseOwner(void* owner) { delete static_cast<std::shared_ptr<const void>*>(owner); }

}  // namespace

void AppendVarintField(int field, uint64_t value, std::string& out) {
  AppendTag(field, WireFormatLite::WIRETYPE_VARINT, out);
  AppendVarint(value, out);
}

void AppendFixed64Field(int field, uint64_t bits, std::string& out) {
  AppendTag(field, WireFormatLite::WIRETYPE_FIXED64, out);
  uint8_t buffer[8];
  CodedOutputStream::WriteLittleEndian64ToArray(bits, buffer);
  out.append(reinterpret_cast<const char*>(buffer), sizeof(buffer));
}

void AppendLengthDelimitedHeader(int field, uint64_t length, std::string& out) {
  AppendTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, out);
  AppendVarint(length, out);
}

grpc::Slice ZeroCopySlice(absl::string_view bytes, std::shared_ptr<const void> owner) {
  return grpc::Slice(const_cast<char*>(bytes.data()), bytes.size(), ReleaseOwner,
                     new std::shared_ptr<const void>(std::move(owner)));
}

grpc::ByteBuffer FramedBytes(std::string head, absl::string_view payload,
                             std::shared_ptr<const void> owner, absl::string_view tail) {
  if (payload.size() < kZeroCopyBytes) {
    head.append(payload.data(), payload.size());
    head.append(tail.data(), tail.size());
    grpc::Slice slice(head);
    return grpc::ByteBuffer(&slice, 1);
  }
  grpc::Slice slices[3] = {grpc::Slice(head), ZeroCopySlice(payload, std::move(owner)),
                           grpc::Slice(tail.data(), tail.size())};
  return grpc::ByteBuffer(slices, tail.empty() ? 2 : 3);
}

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string flat;
  if (!buffer.Dump(&slices).ok()) return flat;
  for (const grpc::Slice& slice : slices) {
    flat.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return flat;
}

}  // namespace aia
