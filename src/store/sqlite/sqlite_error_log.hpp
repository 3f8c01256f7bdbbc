// sqlite_error_log.hpp: the operator's view of the SQLite store's failures. Every store call
// that fails for a reason of the store itself (the disk is full, an I/O error, a corrupt page,
// a lock held too long: Unavailable or Internal) writes one `store.error` line with the call
// (`op`) and SQLite's own text (`error`); the caller gets the same error as a value. A full disk
// fails every write at once, so the same error of one op is written at most once a second,
// and its next line says how many were left out meanwhile (`repeated`).
#pragma once

#include <string_view>

#include "core/error.hpp"

namespace rtm::sqlite {

// Logs `error` of the store call `op` when it is the store's failure, not an answer about
// the data (NotFound, AlreadyExists, InvalidParameter are not logged).
void log_store_error(std::string_view op, const Error& error);

}  // namespace rtm::sqlite
