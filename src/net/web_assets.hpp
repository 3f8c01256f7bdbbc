// The demo page (web/) and the browser SDK (sdk/js/rtm.js), compiled into rtmd so that it
// serves them at `/` and `/sdk/rtm.js` wherever it runs. The table is generated at build time
// by cmake/embed_assets.cmake.
#pragma once

#include <string_view>
#include <vector>

namespace rtm::net {

struct WebAsset {
  std::string_view path;  // the URL path, e.g. "/index.html"
  std::string_view content_type;
  std::string_view bytes;
};

const std::vector<WebAsset>& web_assets();

// The asset served at `path` ("/" is "/index.html"); nullptr if there is none.
inline const WebAsset* find_web_asset(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const auto& a : web_assets())
    if (a.path == path) return &a;
  return nullptr;
}

}  // namespace rtm::net
