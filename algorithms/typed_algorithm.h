// TypedAlgorithm<Q, A>: write a plugin with typed queries and answers; the base
// class encodes and decodes them.
//
// Q and A are `Vector` (a dense vector, sent as "f64le" bytes from the returned
// vector's own memory and seen through a ConstVectorRef: no copy either way) or any protobuf message type.
//
// Example (the worker returns the query):
//
//   class Echo : public TypedAlgorithm<Vector, Vector> {
//     absl::StatusOr<Vector> Init(const Problem&) override { return Vector::Zero(10); }
//     absl::StatusOr<Vector> WorkerStep(const ConstVectorRef& q, Problem&) override {
//       return Vector(q);
//     }
//     absl::StatusOr<Vector> CentralStep(const ConstVectorRef& a, const AnswerInfo&,
//                                        const Problem&) override { return Vector(a); }
//   };
#ifndef AIA_ALGORITHMS_TYPED_ALGORITHM_H_
#define AIA_ALGORITHMS_TYPED_ALGORITHM_H_

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "algorithms/algorithm.h"
#include "base/eigen.h"
#include "base/status_macros.h"
#include "google/protobuf/message.h"

namespace aia {

// Codec<T>: Type() names the encoding, Encode(value) gives bytes, ToPayload(value)
// gives them as a Payload (a Vector's own memory, not a copy), Decode(bytes)
// gives a View (DataLoss when the bytes do not decode).
template <typename T, typename Enable = void>
struct Codec;

template <>
struct Codec<Vector> {
  using View = ConstVectorRef;
  static std::string Type() { return std::string(kDenseVectorType); }
  static std::string Encode(const Eigen::Ref<const Vector>& value) {
    static_assert(sizeof(double) == 8, "f64le needs 8-byte doubles");
    // Built from the data directly: no zero fill before the copy.
    return std::string(reinterpret_cast<const char*>(value.data()),
                       static_cast<size_t>(value.size()) * sizeof(double));
  }
  static Payload ToPayload(Vector value) { return Payload::FromVector(std::move(value)); }
  // A view into `bytes`, which must outlive it.
  static absl::StatusOr<View> Decode(absl::string_view bytes) {
    if (bytes.size() % sizeof(double) != 0) {
      return absl::DataLossError(
          absl::StrCat("a dense vector payload has ", bytes.size(), " bytes, not a multiple of 8"));
    }
    return View(reinterpret_cast<const double*>(bytes.data()),
                static_cast<Eigen::Index>(bytes.size() / sizeof(double)));
  }
};

template <typename M>
struct Codec<M, std::enable_if_t<std::is_base_of<google::protobuf::Message, M>::value>> {
  using View = M;
  static std::string Type() { return M::descriptor()->full_name(); }
  static std::string Encode(const M& value) { return value.SerializeAsString(); }
  static Payload ToPayload(const M& value) { return Payload(value.SerializeAsString()); }
  static absl::StatusOr<View> Decode(absl::string_view bytes) {
    M message;
    if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return absl::DataLossError(absl::StrCat("payload is not a valid ", Type()));
    }
    return message;
  }
};

template <typename Q, typename A>
class TypedAlgorithm : public Algorithm {
 public:
  using QueryView = typename Codec<Q>::View;
  using AnswerView = typename Codec<A>::View;

  std::string query_type() const final { return Codec<Q>::Type(); }
  std::string answer_type() const final { return Codec<A>::Type(); }

  absl::StatusOr<Payload> Initialize(const Problem& central) final {
    ASSIGN_OR_RETURN(Q q0, Init(central));
    return Codec<Q>::ToPayload(std::move(q0));
  }

  absl::StatusOr<Payload> Update(absl::string_view answer, const AnswerInfo& from,
                                 const Problem& central) final {
    ASSIGN_OR_RETURN(AnswerView a, Codec<A>::Decode(answer));
    ASSIGN_OR_RETURN(Q q, CentralStep(a, from, central));
    return Codec<Q>::ToPayload(std::move(q));
  }

  absl::StatusOr<Payload> Answer(absl::string_view query, Problem& local) final {
    ASSIGN_OR_RETURN(QueryView q, Codec<Q>::Decode(query));
    ASSIGN_OR_RETURN(A a, WorkerStep(q, local));
    return Codec<A>::ToPayload(std::move(a));
  }

  absl::StatusOr<Payload> UpdateSynchronous(const std::vector<WorkerAnswer>& answers,
                                            const Problem& central) final {
    std::vector<std::pair<int, AnswerView>> decoded;
    decoded.reserve(answers.size());
    for (const WorkerAnswer& answer : answers) {
      absl::StatusOr<AnswerView> a = Codec<A>::Decode(answer.payload);
      if (!a.ok()) {
        return absl::DataLossError(
            absl::StrCat("worker ", answer.worker, ": ", a.status().message()));
      }
      decoded.emplace_back(answer.worker, std::move(a).value());
    }
    ASSIGN_OR_RETURN(Q q, SyncCentralStep(decoded, central));
    return Codec<Q>::ToPayload(std::move(q));
  }

 protected:
  // The initialization step: q0.
  virtual absl::StatusOr<Q> Init(const Problem& central) = 0;
  // The worker step.
  virtual absl::StatusOr<A> WorkerStep(const QueryView& q, Problem& local) = 0;
  // The asynchronous central step on answer `a` (from.worker's; from.staleness()
  // steps old): the next query for that worker.
  virtual absl::StatusOr<Q> CentralStep(const AnswerView& a, const AnswerInfo& from,
                                        const Problem& central) = 0;
  // The synchronous central step: (worker, answer) of every live worker of the
  // round; the next query for all. Override it and supports_synchronous().
  virtual absl::StatusOr<Q> SyncCentralStep(const std::vector<std::pair<int, AnswerView>>& answers,
                                            const Problem& central) {
    return absl::UnimplementedError("this algorithm has no synchronous central step");
  }
};

}  // namespace aia

#endif  // AIA_ALGORITHMS_TYPED_ALGORITHM_H_
