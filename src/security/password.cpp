#include "security/password.h"

#include <sodium.h>

namespace cdn::security {
namespace {

// Made once with hash_password()'s parameters; the password was random and thrown away.
constexpr std::string_view DUMMY_HASH =
    "$argon2id$v=19$m=19456,t=2,p=1$S3lsv9oxnbxOT6kb/MiWmA$"
    "Nz260/zVb06g4Jkv5gf+chBziuV6axXxUytsSAD/xas";

/** sodium_init() once per process (it is itself idempotent and thread-safe; this keeps the
 *  result). */
bool sodium_ready() {
    static const bool ready = sodium_init() >= 0;
    return ready;
}

/** `hash` as a NUL-terminated buffer of libsodium's size; false when it cannot fit. */
bool to_c_string(std::string_view hash, char (&out)[crypto_pwhash_STRBYTES]) {
    if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES ||
        hash.find('\0') != std::string_view::npos) {
        return false;
    }
    hash.copy(out, hash.size());
    out[hash.size()] = '\0';
    return true;
}

} // namespace

core::Result<std::string> hash_password(std::string_view password) {
    if (password.size() > MAX_PASSWORD_BYTES) {
        return core::make_error(core::Errc::InvalidRequest, "the password is too long");
    }
    if (!sodium_ready()) {
        return core::make_error(core::Errc::Internal, "internal error", "sodium_init failed");
    }
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), PASSWORD_OPSLIMIT,
                              PASSWORD_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return core::make_error(core::Errc::Internal, "internal error",
                                "crypto_pwhash_str_alg failed (out of memory?)");
    }
    return std::string(out);
}

bool verify_password(std::string_view hash, std::string_view password) {
    char encoded[crypto_pwhash_STRBYTES];
    if (password.size() > MAX_PASSWORD_BYTES || !sodium_ready() || !to_c_string(hash, encoded) ||
        !hash.starts_with("$argon2")) {
        return false;
    }
    return crypto_pwhash_str_verify(encoded, password.data(), password.size()) == 0;
}

bool password_needs_rehash(std::string_view hash) {
    char encoded[crypto_pwhash_STRBYTES];
    if (!sodium_ready() || !to_c_string(hash, encoded)) {
        return true;
    }
    // crypto_pwhash_str_needs_rehash() checks the argon2i flavour too; ours must be argon2id.
    return !hash.starts_with("$argon2id$") ||
           crypto_pwhash_argon2id_str_needs_rehash(encoded, PASSWORD_OPSLIMIT,
                                                   PASSWORD_MEMLIMIT) != 0;
}

std::string_view dummy_password_hash() { return DUMMY_HASH; }

} // namespace cdn::security
