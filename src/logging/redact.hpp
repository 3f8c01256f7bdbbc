// What a URL may show in a log line: store, broker and webhook URLs can carry a password
// (postgres://user:PASSWORD@host/db, redis://:PASSWORD@host, ?password=...) or a token
// (https://hooks.example/ID?token=...). redact_url() keeps what an operator needs to tell
// one URL from another and replaces the secrets with `***`.
#pragma once

#include <string>
#include <string_view>

namespace rtm::logging {

// The password of the userinfo (user:PASSWORD@, or :PASSWORD@) becomes ***; so do the values
// of query parameters whose name says secret (password, pass, pwd, secret, token, key,
// sig, signature, auth, in any case, also as part of a longer name: api_key, sslpassword).
// A text that is not a URL (sqlite:PATH, local) comes back as it is.
std::string redact_url(std::string_view url);

// A URL whose path may itself be the secret (webhook receivers such as
// https://hooks.example/services/T0/B0/SECRET): scheme and authority as redact_url() shows
// them, then the path and query replaced by a tag that tells one URL of a host from another
// without showing it: "https://hooks.example/…[3f2a9c01]" (FNV-1a of what was hidden).
std::string redact_url_path(std::string_view url);

}  // namespace rtm::logging
