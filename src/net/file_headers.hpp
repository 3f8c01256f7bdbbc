// The headers of file uploads and downloads (API.md section 5), read and written as text:
// the uploader's X-Rtm-File-Name, X-Rtm-Mtype and Content-Type, a download's Range and the
// Content-Disposition it is answered with. Pure functions, no socket, so that a fuzzer
// drives the server's own parsing (tests/fuzz/file_headers_fuzz.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace rtm::net {

// The uploader's file name made safe to keep and to show: percent-decoded, only the part
// after the last / or \, no control (C0, DEL, C1), bidirectional or zero-width characters,
// strict UTF-8 (no overlong forms or surrogates), at most 255 bytes; "file" when nothing is
// left.
std::string clean_file_name(std::string_view raw);

// X-Rtm-Mtype of an upload: a whole decimal number from 40 to 50; nullopt for anything else.
std::optional<int> parse_upload_mtype(std::string_view text);

// Whether an uploader's Content-Type may be kept as the file's type (and sent back with its
// downloads): type/subtype with parameters, of letters, digits and a few marks, at most 128
// bytes. Otherwise the file is application/octet-stream.
bool safe_content_type(std::string_view type);

// attachment; filename="ascii fallback"; filename*=UTF-8''exact (RFC 6266 / 5987), for a
// name clean_file_name made.
std::string content_disposition(std::string_view name);

// A single `bytes=` range of a file of `size` bytes: [first, last] with first <= last < size,
// or nullopt for none asked (no header, other units, several ranges: the whole file). Sets
// `bad` for a range that cannot be satisfied (416).
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_range(std::string_view h,
                                                                   std::uint64_t size, bool& bad);

}  // namespace rtm::net
