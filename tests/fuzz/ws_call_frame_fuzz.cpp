// Fuzz target: the call frame a client sends on its WebSocket (net/ws_call_frame.hpp), on
// arbitrary bytes as one text message would carry them. decode_ws_call must not crash or
// throw, and keep its promises: a decoded call has the id, method and params the frame
// says (checked against an independent parse of the same text), and a frame that is not a
// call is InvalidRequest with a message and an id that can be put into the reply frame.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/ws_call_frame.hpp"

namespace json = boost::json;
using rtm::Rc;

namespace {

// The id of a reply: "null", or the JSON of an integer or a string.
bool is_reply_id(const std::string& id) {
  if (id == "null") return true;
  boost::system::error_code ec;
  json::value v = json::parse(id, ec);
  return !ec && (v.is_int64() || v.is_uint64() || v.is_string()) && json::serialize(v) == id;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  rtm::net::WsCallFrame call = rtm::net::decode_ws_call(text);
  if (!is_reply_id(call.id)) std::abort();
  // The reply frame the socket builds around the id must stay JSON.
  {
    boost::system::error_code ec;
    json::value reply = json::parse("{\"id\":" + call.id + ",\"rc\":0}", ec);
    if (ec || !reply.is_object()) std::abort();
  }

  json::parse_options opts;
  opts.max_depth = rtm::net::kWsCallMaxDepth;
  boost::system::error_code ec;
  json::value frame = json::parse(text, ec, {}, opts);
  const json::object* obj = !ec && frame.is_object() ? &frame.get_object() : nullptr;
  const json::value* id = obj ? obj->if_contains("id") : nullptr;
  const bool id_ok = id && (id->is_int64() || id->is_uint64() || id->is_string());

  if (call.error) {
    if (call.error->rc != Rc::InvalidRequest || call.error->msg.empty()) std::abort();
    if (!call.method.empty() || !call.params.empty()) std::abort();
    // The id is echoed whenever the frame is an object with a usable one.
    if (id_ok != (call.id != "null")) std::abort();
    if (id_ok && call.id != json::serialize(*id)) std::abort();
    // A frame that is a call is never refused.
    if (id_ok) {
      const json::value* m = obj->if_contains("method");
      const json::value* p = obj->if_contains("params");
      if (m && m->is_string() && (!p || p->is_object())) std::abort();
    }
    return 0;
  }
  // Decoded: the frame is a JSON object with those very fields.
  if (!obj || !id_ok || call.id != json::serialize(*id)) std::abort();
  const json::value* method = obj->if_contains("method");
  if (!method || !method->is_string() || call.method != std::string_view(method->get_string()))
    std::abort();
  const json::value* params = obj->if_contains("params");
  if (params ? (!params->is_object() || call.params != params->get_object()) : !call.params.empty())
    std::abort();
  return 0;
}
