// Payload: the bytes of a query or an answer, immutable and shared, with
// whatever owns their memory. A plugin's step returns one; the engine sends it
// from that memory (no copy for a payload of 64 KiB or more) to one worker or to
// all of them, and keeps it for the history.
//
// A step that builds bytes returns them as a std::string (converted implicitly,
// moved, not copied); a dense vector becomes a payload without a copy with
// Payload::FromVector, which adopts the vector's memory. TypedAlgorithm does
// that for Vector queries and answers, so most plugins never name this type.
//
// Example:
//   absl::StatusOr<Payload> Answer(absl::string_view query, Problem& local) override {
//     Vector step = ...;
//     return Payload::FromVector(std::move(step));  // f64le bytes, no copy
//   }
//
// Thread safety: a Payload is immutable; copies share the bytes and may be used
// from any thread.
#ifndef AIA_ALGORITHMS_PAYLOAD_H_
#define AIA_ALGORITHMS_PAYLOAD_H_

#include <cstddef>
#include <memory>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"
#include "base/eigen.h"

namespace aia {

class Payload {
 public:
  // No bytes.
  Payload() = default;
  // Takes the string's bytes (a move: a step may return a std::string).
  Payload(std::string bytes);  // NOLINT(google-explicit-constructor)
  Payload(const char* bytes) : Payload(std::string(bytes)) {}  // NOLINT
  // The vector's elements as little-endian float64 ("f64le"), in its own memory.
  static Payload FromVector(Vector vector);

  absl::string_view view() const { return view_; }
  operator absl::string_view() const { return view_; }  // NOLINT
  const char* data() const { return view_.data(); }
  size_t size() const { return view_.size(); }
  bool empty() const { return view_.empty(); }
  // A copy of the bytes.
  std::string ToString() const { return std::string(view_); }
  // What keeps the bytes alive: a sender that lends them to gRPC holds it until
  // gRPC lets go. Null for no bytes.
  const std::shared_ptr<const void>& owner() const { return owner_; }

  friend bool operator==(const Payload& a, absl::string_view b) { return a.view_ == b; }
  friend bool operator!=(const Payload& a, absl::string_view b) { return a.view_ != b; }
  friend std::ostream& operator<<(std::ostream& out, const Payload& payload);

 private:
  Payload(std::shared_ptr<const void> owner, absl::string_view view)
      : owner_(std::move(owner)), view_(view) {}

  std::shared_ptr<const void> owner_;
  absl::string_view view_;
};

}  // namespace aia

#endif  // AIA_ALGORITHMS_PAYLOAD_H_
