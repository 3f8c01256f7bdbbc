// See ws_call_frame.hpp.
#include "net/ws_call_frame.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/result.hpp"

namespace rtm::net {

namespace json = boost::json;

WsCallFrame decode_ws_call(std::string_view text) {
  WsCallFrame out;
  json::parse_options opts;
  opts.max_depth = kWsCallMaxDepth;
  boost::system::error_code ec;
  json::value frame = json::parse(text, ec, {}, opts);
  if (ec || !frame.is_object()) {
    out.error = make_error(Rc::InvalidRequest, ec ? "frame is not valid JSON: " + ec.message()
                                                  : "frame must be a JSON object");
    return out;
  }
  auto& call = frame.get_object();
  if (auto* v = call.if_contains("id")) {
    if (v->is_int64() || v->is_uint64() || v->is_string()) out.id = json::serialize(*v);
  }
  auto* method = call.if_contains("method");
  if (out.id == "null" || !method || !method->is_string()) {
    out.error =
        make_error(Rc::InvalidRequest, "a call is {\"id\":N,\"method\":\"...\",\"params\":{}}");
    return out;
  }
  if (auto* p = call.if_contains("params")) {
    if (!p->is_object()) {
      out.error = make_error(Rc::InvalidRequest, "params must be an object");
      return out;
    }
    out.params = std::move(p->get_object());
  }
  out.method = std::string(method->get_string());
  return out;
}

}  // namespace rtm::net
