// Reply: what a method answers, before it is encoded as JSON or XML for a transport.
#pragma once

#include <boost/json/object.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace rtm::api {

struct Reply {
  Rc rc = Rc::Ok;
  std::string msg;             // error text (or "ok")
  boost::json::object fields;  // result fields of a success
  // Result fields already serialized as JSON text (e.g. `events`, built without a DOM from
  // shared event bodies); spliced into the JSON answer as they are.
  std::vector<std::pair<std::string, std::string>> raw_fields;
  // Set by a method that took something out of a queue to answer (channel.poll): the
  // transport calls it when the answer cannot be delivered (the client has gone), so what
  // was taken goes back instead of being lost.
  std::function<void()> undelivered;
  // RateLimited: seconds after which to try again (Error::retry_after_s); 0 when not said.
  std::int64_t retry_after_s = 0;

  static Reply error(Rc rc, std::string msg) {
    Reply r;
    r.rc = rc;
    r.msg = std::move(msg);
    return r;
  }
  static Reply error(const Error& e) {
    Reply r = error(e.rc, e.msg);
    r.retry_after_s = e.retry_after_s;
    return r;
  }
  bool ok() const { return rc == Rc::Ok; }
  int http_status() const { return rc_http_status(rc); }
};

// {"rc":0,...fields} or {"rc":N,"error":"Name","msg":"..."} (plus "retry_after":S when set).
std::string encode_json(const Reply& reply);
// <out><rc>0</rc><msg>ok</msg>...</out> (the 1010data form; docs/semantics.md "Calls").
std::string encode_xml(const Reply& reply);

}  // namespace rtm::api
