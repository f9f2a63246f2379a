// WriteQueue: the messages a gRPC stream has yet to write, with at most one write
// in flight, as gRPC's callback API allows. The coordinator's link and the
// worker's session both write through one.
//
// Example (under the owner's mutex):
//   if (const Message* next = queue.Push(std::move(message))) StartWrite(next);
//   ...
//   void OnWriteDone(bool ok) {
//     if (!ok) { queue.Clear(); queue.Done(); return; }  // a broken stream
//     if (const Message* next = queue.Done()) StartWrite(next);
//   }
//
// Thread safety: none; the owner guards it (with the stream's mutex).
#ifndef AIA_BASE_WRITE_QUEUE_H_
#define AIA_BASE_WRITE_QUEUE_H_

#include <cstddef>
#include <deque>

namespace aia {

template <typename T>
class WriteQueue {
 public:
  // Queues `message`. Returns the message to start writing now (it stays valid
  // until Done), or null if a write is in flight already.
  const T* Push(T message) {
    queue_.push_back(std::move(message));
    if (in_flight_) return nullptr;
    in_flight_ = true;
    return &queue_.front();
  }

  // The write in flight completed. Returns the next message to start writing, or
  // null if none is queued.
  const T* Done() {
    queue_.pop_front();
    in_flight_ = !queue_.empty();
    return in_flight_ ? &queue_.front() : nullptr;
  }

  // Drops every message not yet being written.
  void Clear() {
    if (!in_flight_) {
      queue_.clear();
    } else {
      queue_.erase(queue_.begin() + 1, queue_.end());
    }
  }

  bool in_flight() const { return in_flight_; }
  // Messages queued, the one in flight included.
  size_t size() const { return queue_.size(); }
  bool empty() const { return queue_.empty(); }

 private:
  std::deque<T> queue_;  // the front is in flight when in_flight_
  bool in_flight_ = false;
};

}  // namespace aia

#endif  // AIA_BASE_WRITE_QUEUE_H_
