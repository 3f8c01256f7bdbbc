// See event_body.hpp.
#include "core/event_body.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <string>

namespace rtm {

namespace {

boost::json::object message_object(const Message& m) {
  boost::json::object o;
  o["mid"] = m.mid;
  o["from"] = m.from;
  o["kind"] = kind_name(m.kind);
  switch (m.kind) {
    case MessageKind::P2p: o["to"] = m.to; break;
    case MessageKind::Multi: {
      boost::json::array to;
      for (Uid u : m.to_uids) to.push_back(u);
      o["to_uids"] = std::move(to);
      break;
    }
    case MessageKind::Group: o["gid"] = m.gid; break;
    case MessageKind::Room: o["rid"] = m.rid; break;
    case MessageKind::Broadcast:
    case MessageKind::Channel: break;
  }
  o["mtype"] = m.mtype;
  o["msg"] = m.msg;
  o["attrs"] = m.attrs;
  o["mtime"] = m.mtime;
  return o;
}

}  // namespace

std::string message_json(const Message& m) { return boost::json::serialize(message_object(m)); }

EventBody message_event(const Message& m) {
  std::string body = "\"type\":\"message\",\"message\":";
  body += message_json(m);
  body += '}';
  return std::make_shared<const std::string>(std::move(body));
}

EventBody presence_event(Uid uid, std::string_view state) {
  std::string u = std::to_string(uid);
  return std::make_shared<const std::string>("\"type\":\"presence\",\"uid\":" + u +
                                             ",\"state\":\"" + std::string(state) +
                                             "\",\"topic\":\"presence:" + u + "\"}");
}

EventBody room_event(Rid rid, Uid uid, std::string_view state) {
  return std::make_shared<const std::string>("\"type\":\"room\",\"rid\":" + std::to_string(rid) +
                                             ",\"uid\":" + std::to_string(uid) + ",\"state\":\"" +
                                             std::string(state) + "\"}");
}

}  // namespace rtm
