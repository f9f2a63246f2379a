#include "coordinator/in_process_link.h"

namespace aia {

InProcessLink::InProcessLink(int worker, int link_id, const std::string& data_root,
                             EventQueue* events)
    : worker_(worker), link_id_(link_id), events_(events), session_(data_root, &cache_) {}

void InProcessLink::Send(std::shared_ptr<const Outgoing> message) {
  if (closed_) return;
  std::optional<WorkerReply> reply = session_.Handle(message->WholeMessage());
  if (reply.has_value()) {
    Event event;
    event.worker = worker_;
    event.link_id = link_id_;
    event.message = reply->Whole();
    events_->Push(std::move(event));
  }
  if (session_.done()) Close();
}

void InProcessLink::Close() {
  if (closed_) return;
  closed_ = true;
  Event event;
  event.kind = Event::Kind::kClosed;
  event.worker = worker_;
  event.link_id = link_id_;
  events_->Push(std::move(event));
}

}  // namespace aia
